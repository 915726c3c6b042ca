package gitea_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fiveaxis/fiveaxis/reviewer"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea"
)

// faultServer answers like Gitea for the version and the token's user, and
// with status (and Retry-After) for everything else: the faults a real
// server cannot be made to produce on demand.
func faultServer(t *testing.T, status int, retryAfter string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/version":
			fmt.Fprint(w, `{"version":"1.26.0"}`)
		case "/api/v1/user":
			fmt.Fprint(w, `{"id":2,"login":"bot"}`)
		default:
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"message":"injected %d"}`, status)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		check      func(error) bool
		after      time.Duration
	}{
		{http.StatusUnauthorized, "", func(err error) bool { return errors.Is(err, reviewer.ErrUnauthorized) }, 0},
		{http.StatusForbidden, "", func(err error) bool { return errors.Is(err, reviewer.ErrUnauthorized) }, 0},
		{http.StatusNotFound, "", func(err error) bool { return errors.Is(err, reviewer.ErrNotFound) }, 0},
		{http.StatusTooManyRequests, "7", nil, 7 * time.Second},
		{http.StatusServiceUnavailable, "", nil, 0},
		{http.StatusBadGateway, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), nil, time.Hour},
		{http.StatusUnprocessableEntity, "", func(err error) bool {
			var re *reviewer.RetryableError
			return !errors.As(err, &re) && !errors.Is(err, reviewer.ErrNotFound) && strings.Contains(err.Error(), "422")
		}, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv := faultServer(t, tt.status, tt.retryAfter)
			c, err := gitea.New(context.Background(), srv.URL, "token", gitea.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c.BotUser() != "bot" {
				t.Errorf("bot = %q", c.BotUser())
			}
			_, err = c.PullRequest(context.Background(), "o/r", 1)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), "o/r#1") {
				t.Errorf("error %q does not name the PR", err)
			}
			if tt.check != nil {
				if !tt.check(err) {
					t.Errorf("error %v (%T) not mapped as expected", err, err)
				}
				return
			}
			var re *reviewer.RetryableError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not retryable", err)
			}
			if d := re.After - tt.after; d < -2*time.Second || d > 2*time.Second {
				t.Errorf("retry after %s, want about %s", re.After, tt.after)
			}
		})
	}
	t.Run("network failure is retryable", func(t *testing.T) {
		srv := faultServer(t, 500, "")
		c, err := gitea.New(context.Background(), srv.URL, "token", gitea.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv.Close()
		_, err = c.PullRequest(context.Background(), "o/r", 1)
		var re *reviewer.RetryableError
		if !errors.As(err, &re) {
			t.Errorf("error %v is not retryable", err)
		}
	})
	t.Run("bad token at start", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v1/version" {
				fmt.Fprint(w, `{"version":"1.26.0"}`)
				return
			}
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"token is required"}`)
		}))
		defer srv.Close()
		if _, err := gitea.New(context.Background(), srv.URL, "bad", gitea.Options{}); !errors.Is(err, reviewer.ErrUnauthorized) {
			t.Errorf("err = %v, want ErrUnauthorized", err)
		}
	})
}
