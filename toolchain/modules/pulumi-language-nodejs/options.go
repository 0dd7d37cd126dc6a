package main

import (
	"fmt"
	"strings"
)

// nodeOptions are the `runtime.options` of Pulumi.yaml (or PulumiPolicy.yaml) this host honours.
type nodeOptions struct {
	typescript     bool     // typescript: run .ts sources through ts-node (default true)
	tsconfig       string   // tsconfig: the tsconfig.json ts-node uses
	nodeArgs       []string // nodeargs: extra arguments for node, split on white space
	packageManager string   // packagemanager: what `pulumi install` runs (default npm)
}

func parseOptions(raw map[string]any) (nodeOptions, error) {
	opts := nodeOptions{typescript: true, packageManager: "npm"}
	for key, value := range raw {
		var ok bool
		switch key {
		case "typescript":
			opts.typescript, ok = value.(bool)
		case "tsconfig":
			opts.tsconfig, ok = value.(string)
		case "nodeargs":
			var args string
			args, ok = value.(string)
			opts.nodeArgs = strings.Fields(args)
		case "packagemanager":
			opts.packageManager, ok = value.(string)
			if opts.packageManager == "auto" {
				opts.packageManager = "npm"
			}
			ok = ok && strings.Contains(" npm yarn pnpm bun ", " "+opts.packageManager+" ")
		default:
			ok = true // options of the official host this one has no use for
		}
		if !ok {
			return opts, fmt.Errorf("runtime option %s: unexpected value %v", key, value)
		}
	}
	return opts, nil
}

// environment is what @pulumi/pulumi's run scripts read for the TypeScript options.
func (o nodeOptions) environment() []string {
	var env []string
	if o.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if o.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+o.tsconfig)
	}
	return env
}
