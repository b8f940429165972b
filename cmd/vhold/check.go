package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vhold/vhold/config"
	"github.com/vhold/vhold/pbx/asterisk/ari"
	"github.com/vhold/vhold/pbx/freeswitch"
)

// runCheck validates a configuration file without touching the store or the
// PBXs, so an admin can run it before every reload.
func runCheck(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "check", "check -c FILE [--offline]")
	cfgPath := configFlag(e, fs)
	offline := fs.Bool("offline", false, "do not try to reach the PBXs")
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
	if !*offline {
		checkAsterisk(ctx, e, cfg)
		checkFreeSWITCH(ctx, e, cfg)
	}
	if n := checkSounds(e, cfg); n > 0 {
		fmt.Fprintf(e.stderr, "%s: %d prompt problem(s)\n", *cfgPath, n)
		return 1
	}
	return 0
}

// checkAsterisk tells whether each Asterisk answers ARI with the configured
// credentials, and what is wrong when it does not. It only warns: vhold
// starts without a PBX and connects when it comes up.
func checkAsterisk(ctx context.Context, e *env, c *config.Config) {
	for _, a := range c.PBX.Asterisk {
		cl := ari.New(ari.Config{BaseURL: a.URL, Username: a.Username, Password: a.Password, App: a.App, Timeout: 3 * time.Second})
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		info, err := cl.Asterisk().Info(cctx)
		var status string
		switch {
		case err == nil:
			status = "reachable, Asterisk " + info.System.Version
			if _, aerr := cl.Applications().Get(cctx, a.App); errors.Is(aerr, ari.ErrNotFound) {
				status += fmt.Sprintf("; app %q not registered yet (vhold serve is not connected)", a.App)
			} else if aerr == nil {
				status += fmt.Sprintf("; app %q registered", a.App)
			}
		case errors.Is(err, ari.ErrUnauthorized):
			status = fmt.Sprintf("WARNING: %s refused user %q (check ari.conf and the password)", a.URL, a.Username)
		default:
			status = fmt.Sprintf("WARNING: cannot reach %s: %v (is Asterisk running, with http.conf enabled and bound there?)", a.URL, err)
		}
		cancel()
		fmt.Fprintf(e.stdout, "  %-11s %s\n", a.Name+":", status)
	}
}

// checkFreeSWITCH tells whether each FreeSWITCH answers on its event socket
// and takes the configured password, and what is wrong when it does not.
// Like checkAsterisk it only warns.
func checkFreeSWITCH(ctx context.Context, e *env, c *config.Config) {
	for _, f := range c.PBX.FreeSWITCH {
		version, err := freeswitch.Check(ctx, f.Address, f.Password, 5*time.Second)
		var status string
		switch {
		case err == nil:
			// "FreeSWITCH Version 1.10.12-release  64bit (-release 64bit)"
			status = "reachable, password accepted"
			if f := strings.Fields(version); len(f) > 2 && f[1] == "Version" {
				status = "reachable, FreeSWITCH " + f[2] + ", password accepted"
			}
		case errors.Is(err, freeswitch.ErrRefused):
			status = fmt.Sprintf("WARNING: %s refused the connection (is FreeSWITCH running, with event_socket.conf.xml listening there?)", f.Address)
		case errors.Is(err, freeswitch.ErrAuth):
			status = fmt.Sprintf("WARNING: %s refused the password (check event_socket.conf.xml)", f.Address)
		case errors.Is(err, freeswitch.ErrNotESL):
			status = fmt.Sprintf("WARNING: %s answered, but not as a FreeSWITCH event socket (wrong port?)", f.Address)
		default:
			status = fmt.Sprintf("WARNING: cannot reach %s: %v", f.Address, err)
		}
		fmt.Fprintf(e.stdout, "  %-11s %s\n", f.Name+":", status)
	}
}
