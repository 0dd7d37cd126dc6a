package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// nodePackage is what this host reads of an installed package's package.json.
type nodePackage struct {
	Name     string                  `json:"name"`
	Version  string                  `json:"version"`
	Pulumi   plugin.PulumiPluginJSON `json:"pulumi"`
	topLevel bool                    // directly in the program's node_modules, not nested in another package
}

// installedPackages walks an npm node_modules tree (scoped packages and nested node_modules
// included, symlinks followed once) and returns every package in it.
func installedPackages(nodeModules string) ([]nodePackage, error) {
	var pkgs []nodePackage
	var errs []error
	seen := map[string]bool{}
	var walk func(dir string, topLevel bool)
	walk = func(dir string, topLevel bool) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			return
		}
		for _, entry := range entries {
			name := entry.Name()
			if strings.HasPrefix(name, ".") {
				continue // .bin, .package-lock.json
			}
			pkgDir, err := filepath.EvalSymlinks(filepath.Join(dir, name))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if strings.HasPrefix(name, "@") {
				walk(pkgDir, topLevel) // a scope: its entries are packages
				continue
			}
			if seen[pkgDir] {
				continue
			}
			seen[pkgDir] = true
			pkg, err := readPackage(filepath.Join(pkgDir, "package.json"))
			if err != nil {
				errs = append(errs, err)
			} else if pkg != nil {
				pkg.topLevel = topLevel
				pkgs = append(pkgs, *pkg)
			}
			walk(filepath.Join(pkgDir, "node_modules"), false)
		}
	}
	walk(nodeModules, true)
	return pkgs, errors.Join(errs...)
}

func readPackage(file string) (*nodePackage, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var pkg nodePackage
	if err := json.Unmarshal(data, &pkg); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &pkg, nil
}

// pluginDependency is the resource plugin the package needs, or nil: `pulumi.name` or the name
// without its @pulumi/ scope, `pulumi.version` or the package's version.
func (p nodePackage) pluginDependency() *pulumirpc.PackageDependency {
	if !p.Pulumi.Resource {
		return nil
	}
	name := p.Pulumi.Name
	if name == "" {
		if !strings.HasPrefix(p.Name, "@pulumi/") {
			return nil // third-party packages must name their plugin
		}
		name = strings.TrimPrefix(p.Name, "@pulumi/")
	}
	version := p.Pulumi.Version
	if version == "" {
		version = p.Version
	}
	if version != "" && !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	dep := &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: version, Server: p.Pulumi.Server}
	if param := p.Pulumi.Parameterization; param != nil {
		dep.Parameterization = &pulumirpc.PackageParameterization{Name: param.Name, Version: param.Version, Value: param.Value}
	}
	return dep
}

// declaredDependencies is the set of names in a package.json's dependencies and devDependencies.
func declaredDependencies(file string) (map[string]bool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var manifest struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	names := map[string]bool{}
	for name := range manifest.Dependencies {
		names[name] = true
	}
	for name := range manifest.DevDependencies {
		names[name] = true
	}
	return names, nil
}
