package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// newHealthcheckCmd is `fiveaxis healthcheck`: a probe for images without a
// shell or curl (distroless), for Docker HEALTHCHECK and compose.
func newHealthcheckCmd(a *app) *cobra.Command {
	var target string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the local server answers its health endpoint with 200",
		Long: `GET a health endpoint of a running fiveaxis serve or worker and exit 0 when
it answers 200 OK, 2 otherwise. For container images without curl.

The default URL is /healthz on 127.0.0.1 at the port of the configured
listen address.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if target == "" {
				c, err := loadConfig(a.configPath, a.getenv)
				if err != nil {
					return err
				}
				_, port, err := net.SplitHostPort(c.withDefaults().Listen)
				if err != nil {
					return fmt.Errorf("listen: %w", err)
				}
				target = "http://127.0.0.1:" + port + "/healthz"
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("healthcheck: %w", err)
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("healthcheck %s: HTTP %d", target, resp.StatusCode)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "url", "", "URL to check (default http://127.0.0.1:<listen port>/healthz)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "time limit of the request")
	return cmd
}
