package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// @pulumi/pulumi's entry points, resolved with Node's module resolution from the program's directory,
// so the program runs under the SDK it installed.
const (
	runModule           = "@pulumi/pulumi/cmd/run"
	runPluginModule     = "@pulumi/pulumi/cmd/run-plugin"
	runPolicyPackModule = "@pulumi/pulumi/cmd/run-policy-pack"
)

// cmd/run exits with this code after it has already logged an error the user can act on: the engine
// is then told to bail out without adding a message of its own.
const exitAfterUserMessage = 32

// How long a cancelled Node.js process gets between SIGINT and SIGKILL.
const interruptGrace = 5 * time.Second

// nodeHost implements pulumirpc.LanguageRuntime. Methods it does not override answer Unimplemented
// (code generation, packing, linking, RunPlugin2, the legacy GetRequiredPlugins), which the engine
// only calls from commands this host does not serve (`pulumi convert`, `package gen-sdk`, ...).
type nodeHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	tracing string
	stop    context.CancelFunc // stops the whole host once the engine is gone

	mu            sync.Mutex
	engineAddress string

	// Cancelled by the Cancel RPC: interrupts every running program and plugin.
	cancelled context.Context
	cancel    context.CancelFunc
}

func newNodeHost(tracing string, stop context.CancelFunc) *nodeHost {
	cancelled, cancel := context.WithCancel(context.Background())
	return &nodeHost{tracing: tracing, stop: stop, cancelled: cancelled, cancel: cancel}
}

// connectEngine records the engine's address and exits the host when the engine stops answering.
func (h *nodeHost) connectEngine(ctx context.Context, address string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.engineAddress != "" {
		return nil
	}
	if err := rpcutil.Healthcheck(ctx, address, engineHealthTimeout, h.stop); err != nil {
		return fmt.Errorf("could not start the engine health check: %w", err)
	}
	h.engineAddress = address
	return nil
}

func (h *nodeHost) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

func (h *nodeHost) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if err := h.connectEngine(context.Background(), req.GetEngineAddress()); err != nil {
		return nil, err
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *nodeHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// GetRequiredPackages lists the resource plugins the program's node_modules ask for
// (package.json files with `"pulumi": { "resource": true }`), so the engine can check they are installed.
func (h *nodeHost) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	pkgs, err := installedPackages(filepath.Join(req.GetInfo().GetProgramDirectory(), "node_modules"))
	if err != nil {
		// Like the official host: report what could be read, log the rest.
		logging.V(3).Infof("errors while looking for plugins: %v", err)
	}
	var deps []*pulumirpc.PackageDependency
	for _, pkg := range pkgs {
		if dep := pkg.pluginDependency(); dep != nil {
			deps = append(deps, dep)
		}
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

// Run executes the program with @pulumi/pulumi's cmd/run: the same arguments and environment the
// official host passes, except that the program talks to the engine's resource monitor directly
// (see README.md).
func (h *nodeHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if req.GetAttachDebugger() {
		return &pulumirpc.RunResponse{Error: "this language host cannot attach a debugger (pulumi --attach-debugger)"}, nil
	}
	info := req.GetInfo()
	opts, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not find node on the $PATH: %v", err)}, nil
	}
	programDir := info.GetProgramDirectory()
	runPath, err := resolveModule(ctx, node, runModule, programDir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	env, err := runEnvironment(req, opts)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	cmd := h.command(ctx, node, append(opts.nodeArgs, runArguments(req, h.engine(), h.tracing, runPath)...))
	cmd.Env = env
	// Wrapped so exec copies through a pipe: Node may switch its stdio to non-blocking mode, which
	// must not leak into this process's own stdout/stderr.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	logging.V(5).Infof("running %s", cmd)

	err = cmd.Run()
	// Flush what Node wrote before it exited, so the engine shows the program's last words.
	_ = os.Stdout.Sync()
	_ = os.Stderr.Sync()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exit) && exit.ExitCode() == exitAfterUserMessage:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode())}, nil
	case errors.As(err, &exit):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited unexpectedly: %v", exit)}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run the program with %s: %v", node, err)}, nil
	}
}

// command makes a Node.js process that the request's end or the Cancel RPC interrupts.
func (h *nodeHost) command(ctx context.Context, node string, args []string) *exec.Cmd {
	procCtx, cancel := context.WithCancel(h.cancelled)
	context.AfterFunc(ctx, cancel)
	cmd := exec.CommandContext(procCtx, node, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = interruptGrace
	return cmd
}

// runArguments is cmd/run's command line: flags, then the entry point and the program's own arguments.
func runArguments(req *pulumirpc.RunRequest, engine, tracing, runPath string) []string {
	args := []string{runPath}
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	info := req.GetInfo()
	flag("monitor", req.GetMonitorAddress())
	flag("engine", engine)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("root-directory", info.GetRootDirectory())
	flag("stack", req.GetStack())
	flag("pwd", info.GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flag("parallel", fmt.Sprint(req.GetParallel()))
	flag("tracing", tracing)
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = "." // the package's "main", else index.js/index.ts
	}
	args = append(args, entry)
	return append(args, req.GetArgs()...)
}

// runEnvironment is this process's environment plus the configuration and TypeScript settings that
// @pulumi/pulumi reads from PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS and PULUMI_NODEJS_*.
func runEnvironment(req *pulumirpc.RunRequest, opts nodeOptions) ([]string, error) {
	// Keys as `<namespace>:config:<name>`, the form every @pulumi/pulumi version reads.
	cfg := make(map[string]string, len(req.GetConfig()))
	for k, v := range req.GetConfig() {
		key, err := config.ParseKey(k)
		if err != nil {
			return nil, fmt.Errorf("configuration key %q: %w", k, err)
		}
		cfg[key.Namespace()+":config:"+key.Name()] = v
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "PULUMI_CONFIG="+string(cfgJSON), "PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON))
	return append(env, opts.environment()...), nil
}

// RunPlugin runs a plugin written for Node.js: a policy pack (kind "analyzer") through
// cmd/run-policy-pack behind the SDK's policy proxy, which hands it the stack's configuration;
// anything else through cmd/run-plugin.
func (h *nodeHost) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	info := req.GetInfo()
	dir := info.GetProgramDirectory()
	opts, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	policyPack := req.GetKind() == string(apitype.AnalyzerPlugin)
	module := runPluginModule
	if policyPack {
		module = runPolicyPackModule
	}
	script, err := resolveModule(ctx, node, module, dir)
	if err != nil {
		return err
	}

	env := append(append([]string{}, req.GetEnv()...), opts.environment()...)
	args := append(append([]string{}, opts.nodeArgs...), script)
	workDir := req.GetPwd()
	var proxy *sdk.PolicyProxy
	if policyPack {
		// cmd/run-policy-pack takes the engine address, then the pack's directory, and runs there.
		args = append(append(args, req.GetArgs()...), dir)
		workDir = dir
		if proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout); err != nil {
			return fmt.Errorf("could not start the policy pack proxy: %w", err)
		}
		stack, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get the stack configuration for the policy pack: %w", err)
		}
		if env, err = policyPackEnvironment(env, stack); err != nil {
			return err
		}
	} else {
		args = append(append(args, dir), req.GetArgs()...)
	}

	cmd := h.command(ctx, node, args)
	cmd.Dir = workDir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	logging.V(5).Infof("running plugin %s", cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start %s: %w", node, err)
	}
	if proxy != nil {
		err = proxy.Attach(ctx, cmd) // waits for the process
	} else {
		err = cmd.Wait()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("plugin exited with code %d", exit.ExitCode())
	} else if err != nil {
		return err
	}
	return closer.Close()
}

// policyPackEnvironment adds what @pulumi/policy reads about the stack under analysis.
func policyPackEnvironment(env []string, stack *pulumirpc.AnalyzerStackConfigureRequest) ([]string, error) {
	if stack == nil {
		return env, nil
	}
	add := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	add("PULUMI_NODEJS_ORGANIZATION", stack.GetOrganization())
	add("PULUMI_NODEJS_PROJECT", stack.GetProject())
	add("PULUMI_NODEJS_STACK", stack.GetStack())
	add("PULUMI_NODEJS_DRY_RUN", fmt.Sprint(stack.GetDryRun()))
	if stack.GetConfig() != nil {
		cfg, err := json.Marshal(stack.GetConfig())
		if err != nil {
			return nil, fmt.Errorf("could not encode the stack configuration: %w", err)
		}
		add("PULUMI_CONFIG", string(cfg))
	}
	return env, nil
}

// InstallDependencies (`pulumi install`, `pulumi new`) runs the package manager's install in the
// program's directory.
func (h *nodeHost) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Installing dependencies with %s install...\n\n", opts.packageManager)
	cmd := exec.CommandContext(server.Context(), opts.packageManager, "install")
	cmd.Dir = req.GetInfo().GetProgramDirectory()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s install failed: %w", opts.packageManager, err)
	}
	fmt.Fprintf(stdout, "Finished installing dependencies\n\n")
	return closer.Close()
}

// About (`pulumi about`): the node executable and its version.
func (h *nodeHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version failed: %w", node, err)
	}
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimSpace(string(out)),
		Metadata:   map[string]string{"packagemanager": opts.packageManager},
	}, nil
}

// GetProgramDependencies (`pulumi about`): the packages installed in the program's node_modules,
// only those its package.json names unless transitive ones are asked for.
func (h *nodeHost) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	direct, err := declaredDependencies(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	pkgs, err := installedPackages(filepath.Join(dir, "node_modules"))
	if err != nil {
		logging.V(3).Infof("errors while listing node_modules: %v", err)
	}
	var deps []*pulumirpc.DependencyInfo
	for _, pkg := range pkgs {
		if req.GetTransitiveDependencies() || (pkg.topLevel && direct[pkg.Name]) {
			deps = append(deps, &pulumirpc.DependencyInfo{Name: pkg.Name, Version: pkg.Version})
		}
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// RuntimeOptionsPrompts (`pulumi new`): no questions; the defaults (npm, TypeScript) apply.
func (h *nodeHost) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// Template (`pulumi new`): Node.js templates need no rewriting.
func (h *nodeHost) Template(context.Context, *pulumirpc.TemplateRequest) (*pulumirpc.TemplateResponse, error) {
	return &pulumirpc.TemplateResponse{}, nil
}

// Cancel interrupts every program and plugin this host is running (SIGINT, then SIGKILL after a grace period).
func (h *nodeHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancel()
	return &emptypb.Empty{}, nil
}

// resolveModule finds `module` the way the program's own require() would, from dir.
func resolveModule(ctx context.Context, node, module, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, node, "-e", "process.stdout.write(require.resolve(process.argv[1]))", module)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot resolve %s from %s: is @pulumi/pulumi installed there (npm install)? (%v)",
			module, dir, err)
	}
	return string(out), nil
}
