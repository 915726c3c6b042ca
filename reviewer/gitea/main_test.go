package gitea_test

import (
	"os"
	"testing"

	"github.com/fiveaxis/fiveaxis/reviewer/gitea/giteatest"
)

// TestMain lets giteatest stop the package's Gitea server, which the first
// end-to-end test starts (one server per package; -short skips them).
func TestMain(m *testing.M) { os.Exit(giteatest.Main(m)) }
