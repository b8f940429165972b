package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// runCheck validates a configuration file without touching the store or the
// PBXs, so an admin can run it before every reload.
func runCheck(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "check", "check -c FILE")
	cfgPath := configFlag(e, fs)
	if _, code, ok := parse(e, fs, args); !ok {
		return code
	}
	cfg, ok := loadConfig(e, *cfgPath)
	if !ok {
		return 1
	}
	queues := make([]string, 0, len(cfg.Queues))
	for n := range cfg.Queues {
		queues = append(queues, n)
	}
	sort.Strings(queues)
	fmt.Fprintf(e.stdout, "%s: ok\n", *cfgPath)
	fmt.Fprintf(e.stdout, "  queues:     %s\n", strings.Join(queues, ", "))
	fmt.Fprintf(e.stdout, "  agents:     %d\n", len(cfg.Agents))
	fmt.Fprintf(e.stdout, "  asterisk:   %d server(s)\n", len(cfg.PBX.Asterisk))
	fmt.Fprintf(e.stdout, "  freeswitch: %d server(s)\n", len(cfg.PBX.FreeSWITCH))
	fmt.Fprintf(e.stdout, "  store:      %s (synchronous=%s)\n", cfg.Store.Path, cfg.Store.Synchronous)
	fmt.Fprintf(e.stdout, "  http:       %s\n", cfg.HTTP.Listen)
	if n := checkSounds(e, cfg); n > 0 {
		fmt.Fprintf(e.stderr, "%s: %d prompt problem(s)\n", *cfgPath, n)
		return 1
	}
	return 0
}
