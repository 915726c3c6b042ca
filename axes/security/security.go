// Package security holds the rules of the security axis: SQL and shell
// injection, path traversal, disabled TLS verification, weak password
// hashing, predictable randomness for secrets, HTTP servers without
// timeouts, secrets in logs, loose file permissions, hard-coded secrets in
// any file (through gitleaks), and risky shell, Dockerfile and manifest
// lines.
//
// The Go rules work on the syntax tree alone (no type information); they
// track values only within one function.
package security

import "github.com/fiveaxis/fiveaxis/axes"

// Checkers returns the security rules, in a stable order.
func Checkers() []*axes.Checker {
	return []*axes.Checker{
		SQLInjection,
		ShellInjection,
		PathTraversal,
		InsecureTLS,
		WeakPasswordHash,
		InsecureRandom,
		ServerNoTimeouts,
		SecretInLog,
		WorldWritablePerms,
		HardcodedSecret,
		CurlPipeShell,
		UnsafeRm,
		DockerRoot,
		PrivilegedContainer,
	}
}
