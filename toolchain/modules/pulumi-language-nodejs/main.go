// pulumi-language-nodejs: a Node.js language host for the Pulumi engine, for machines where the
// official one cannot be had (the Go module proxy refuses its module). The engine starts it with
// the engine's address as the only argument; it serves pulumirpc.LanguageRuntime on a free port,
// prints that port, and runs programs and plugins with @pulumi/pulumi's own entry points
// (cmd/run, cmd/run-plugin, cmd/run-policy-pack), resolved from the program's directory. See
// README.md for what it does not do that the official host does.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// How long the host outlives an engine that stopped answering its health checks.
const engineHealthTimeout = 5 * time.Minute

func main() {
	tracing := flag.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	runtimeName := flag.String("runtime", "nodejs", "The JavaScript runtime (only nodejs is supported)")
	showVersion := flag.Bool("version", false, "Print the plugin version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	if *runtimeName != "nodejs" {
		cmdutil.Exit(fmt.Errorf("unsupported runtime %q: this language host runs Node.js only", *runtimeName))
	}
	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-nodejs", "pulumi-language-nodejs", *tracing)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	cancelServer := make(chan bool)
	go func() {
		<-ctx.Done()
		stop()
		close(cancelServer)
	}()

	host := newNodeHost(*tracing, stop)
	// The engine passes its address on the command line; a host started for debugging gets it
	// from Handshake instead.
	if engine := flag.Arg(0); engine != "" {
		if err := host.connectEngine(ctx, engine); err != nil {
			cmdutil.Exit(err)
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelServer,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start the language host's gRPC server: %w", err))
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host gRPC server stopped: %w", err))
	}
}
