package security

import "testing"

func TestRmSuggestion(t *testing.T) {
	tests := []struct{ in, want string }{
		{`rm -rf $BUILD_DIR/out`, `rm -rf "${BUILD_DIR:?}"/out`},
		{`  rm -rf "$tmp"/* # clean`, `  rm -rf "${tmp:?}"/* # clean`},
		{`rm -rf -- ${CACHE}`, `rm -rf -- "${CACHE:?}"`},
		{`echo hello`, ``},
	}
	for _, tt := range tests {
		if got := rmSuggestion(tt.in); got != tt.want {
			t.Errorf("rmSuggestion(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
