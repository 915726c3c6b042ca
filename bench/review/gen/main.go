// Command gen writes a large pull request for the review benchmark: a git
// repository whose main branch holds a small Go module and whose pr branch
// adds about 300 Go files (about 40,000 lines) of realistic service code,
// with a sprinkling of patterns the rules report (lost cancel, SQL built
// with Sprintf, regexp compiled per call, string += in a loop, printf
// mismatches, unclosed bodies, debug prints, defer in a loop). It imports
// the standard library only, so the packages load offline.
//
// Usage: go run ./bench/review/gen -out DIR [-packages 30 -files 9]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

var nouns = []string{
	"account", "invoice", "order", "payment", "customer", "shipment", "product", "coupon",
	"review", "session", "ticket", "report", "refund", "address", "carrier", "warehouse",
	"supplier", "budget", "ledger", "tenant", "webhook", "plan", "quota", "device",
	"profile", "message", "channel", "campaign", "audit", "schedule", "region", "label",
}

func main() {
	out := flag.String("out", "", "directory of the repository to create (must not exist)")
	npkg := flag.Int("packages", 30, "packages")
	nfiles := flag.Int("files", 9, "files added per package (the last one a test)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -out is required")
		os.Exit(2)
	}
	if err := generate(*out, *npkg, *nfiles); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func generate(dir string, npkg, nfiles int) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s exists", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	git := func(args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_AUTHOR_NAME=Bench", "GIT_AUTHOR_EMAIL=bench@example.invalid",
			"GIT_COMMITTER_NAME=Bench", "GIT_COMMITTER_EMAIL=bench@example.invalid")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
		}
		return nil
	}
	write := func(p, s string) error {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		return os.WriteFile(full, []byte(s), 0o644)
	}
	if err := git("init", "-q", "-b", "main"); err != nil {
		return err
	}
	if err := write("go.mod", "module example.com/shopfront\n\ngo 1.22\n"); err != nil {
		return err
	}
	if err := write("README.md", "# shopfront\n"); err != nil {
		return err
	}
	for p := 0; p < npkg; p++ {
		if err := write(pkgDir(p)+"/doc.go", docFile(p)); err != nil {
			return err
		}
	}
	if err := git("add", "-A"); err != nil {
		return err
	}
	if err := git("commit", "-q", "-m", "base"); err != nil {
		return err
	}
	if err := git("checkout", "-q", "-b", "pr"); err != nil {
		return err
	}
	n := 0
	for p := 0; p < npkg; p++ {
		for f := 0; f < nfiles; f++ {
			name, src := file(p, f, n, nfiles)
			if err := write(pkgDir(p)+"/"+name, src); err != nil {
				return err
			}
			n++
		}
		// The PR also edits the existing doc.go.
		if err := write(pkgDir(p)+"/doc.go", docFile(p)+fmt.Sprintf("\n// Version is the %s package's schema version.\nconst Version = %d\n", pkgName(p), p+2)); err != nil {
			return err
		}
	}
	if err := git("add", "-A"); err != nil {
		return err
	}
	return git("commit", "-q", "-m", "pr: large feature")
}

func pkgName(p int) string {
	n := nouns[p%len(nouns)]
	if p >= len(nouns) {
		n += fmt.Sprint(p / len(nouns))
	}
	return n
}

func pkgDir(p int) string { return "internal/" + pkgName(p) }

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func docFile(p int) string {
	return fmt.Sprintf("// Package %s stores and serves %ss.\npackage %s\n", pkgName(p), nouns[p%len(nouns)], pkgName(p))
}

// file returns the name and source of file f of package p; n numbers files
// across the repository and picks which rule-triggering patterns appear.
func file(p, f, n, nfiles int) (string, string) {
	pkg := pkgName(p)
	noun := nouns[(p+f)%len(nouns)]
	typ := title(noun) + fmt.Sprint(f)
	if f == nfiles-1 {
		return fmt.Sprintf("%s%d_test.go", noun, f), testFile(pkg, title(nouns[p%len(nouns)])+"0", n)
	}
	var b strings.Builder
	imports := []string{"context", "database/sql", "encoding/json", "errors", "fmt", "net/http", "sort", "strconv", "strings", "sync", "time"}
	var dep string
	if f == 0 && p > 0 {
		dep = pkgName((p - 1) / 2)
		imports = append(imports, "example.com/shopfront/"+pkgDir((p-1)/2))
	}
	bug := func(k int) bool { return n%k == k-1 }
	if bug(13) {
		imports = append(imports, "regexp")
	}
	fmt.Fprintf(&b, "package %s\n\nimport (\n", pkg)
	for _, im := range imports {
		fmt.Fprintf(&b, "\t%q\n", im)
	}
	b.WriteString(")\n\n")
	r := strings.NewReplacer("TYPE", typ, "NOUN", noun, "TABLE", noun+"s", "PKG", pkg)
	b.WriteString(r.Replace(body))
	if dep != "" {
		fmt.Fprintf(&b, "\n// Upstream reports the schema version of the %s package this one builds on.\nfunc Upstream() int { return %s.Version }\n", dep, dep)
	}
	if bug(7) {
		b.WriteString(r.Replace(lostCancel))
	}
	if bug(11) {
		b.WriteString(r.Replace(sqlSprintf))
	}
	if bug(13) {
		b.WriteString(r.Replace(regexpPerCall))
	}
	if bug(5) {
		b.WriteString(r.Replace(concatLoop))
	}
	if bug(8) {
		b.WriteString(r.Replace(printfBug))
	}
	if bug(17) {
		b.WriteString(r.Replace(bodyLeak))
	}
	if bug(19) {
		b.WriteString(r.Replace(debugPrint))
	}
	if bug(23) {
		b.WriteString(r.Replace(deferLoop))
	}
	return fmt.Sprintf("%s%d.go", noun, f), b.String()
}

func testFile(pkg, typ string, n int) string {
	sleep := ""
	if n%3 == 0 {
		sleep = "\ttime.Sleep(10 * time.Millisecond)\n"
	}
	return strings.NewReplacer("PKG", pkg, "TYPE", typ, "SLEEP", sleep).Replace(`package PKG

import (
	"strings"
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		in   []string
		want string
	}{
		{[]string{"B", "a"}, "a,b"},
		{[]string{" x "}, "x"},
		{nil, ""},
	}
	for _, c := range cases {
		got := strings.Join(normalizeNamesTYPE(c.in), ",")
		if got != c.want {
			t.Errorf("normalizeNamesTYPE(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDeadline(t *testing.T) {
	start := time.Now()
SLEEP	if time.Since(start) > time.Minute {
		t.Fatal("clock went backwards")
	}
}
`)
}

const body = `// TYPE is a NOUN record.
type TYPE struct {
	ID        int64     ` + "`json:\"id\"`" + `
	Name      string    ` + "`json:\"name\"`" + `
	Email     string    ` + "`json:\"email\"`" + `
	Tags      []string  ` + "`json:\"tags\"`" + `
	Amount    int64     ` + "`json:\"amount\"`" + `
	CreatedAt time.Time ` + "`json:\"created_at\"`" + `
}

// TYPEStore keeps NOUNs in the database, with a read-through cache.
type TYPEStore struct {
	mu    sync.RWMutex
	db    *sql.DB
	cache map[int64]*TYPE
}

// NewTYPEStore returns a store backed by db.
func NewTYPEStore(db *sql.DB) *TYPEStore {
	return &TYPEStore{db: db, cache: make(map[int64]*TYPE)}
}

// ErrTYPENotFound is returned when no NOUN has the requested id.
var ErrTYPENotFound = errors.New("PKG: NOUN not found")

// Get returns the NOUN with the given id.
func (s *TYPEStore) Get(ctx context.Context, id int64) (*TYPE, error) {
	s.mu.RLock()
	if v, ok := s.cache[id]; ok {
		s.mu.RUnlock()
		return v, nil
	}
	s.mu.RUnlock()
	row := s.db.QueryRowContext(ctx, "SELECT id, name, email, amount FROM TABLE WHERE id = $1", id)
	var v TYPE
	if err := row.Scan(&v.ID, &v.Name, &v.Email, &v.Amount); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrTYPENotFound
		}
		return nil, fmt.Errorf("get NOUN %d: %w", id, err)
	}
	s.mu.Lock()
	s.cache[id] = &v
	s.mu.Unlock()
	return &v, nil
}

// List returns up to limit NOUNs, newest first.
func (s *TYPEStore) List(ctx context.Context, limit int) ([]*TYPE, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, "SELECT id, name, email, amount FROM TABLE ORDER BY id DESC LIMIT $1", limit)
	if err != nil {
		return nil, fmt.Errorf("list NOUNs: %w", err)
	}
	defer rows.Close()
	out := make([]*TYPE, 0, limit)
	for rows.Next() {
		var v TYPE
		if err := rows.Scan(&v.ID, &v.Name, &v.Email, &v.Amount); err != nil {
			return nil, fmt.Errorf("scan NOUN: %w", err)
		}
		out = append(out, &v)
	}
	return out, rows.Err()
}

// Save inserts or updates a NOUN.
func (s *TYPEStore) Save(ctx context.Context, v *TYPE) error {
	if err := v.Validate(); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx,
		"INSERT INTO TABLE (id, name, email, amount) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET name = $2, email = $3, amount = $4",
		v.ID, v.Name, v.Email, v.Amount)
	if err != nil {
		return fmt.Errorf("save NOUN %d: %w", v.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache[v.ID] = v
	return nil
}

// Validate checks a NOUN before it is stored.
func (v *TYPE) Validate() error {
	switch {
	case v.ID <= 0:
		return fmt.Errorf("NOUN: invalid id %d", v.ID)
	case strings.TrimSpace(v.Name) == "":
		return errors.New("NOUN: empty name")
	case !strings.Contains(v.Email, "@"):
		return fmt.Errorf("NOUN %d: invalid email %q", v.ID, v.Email)
	case v.Amount < 0:
		return fmt.Errorf("NOUN %d: negative amount", v.ID)
	}
	return nil
}

// ServeHTTP serves GET /NOUNs/{id} as JSON.
func (s *TYPEStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/NOUNs/"), 10, 64)
	if err != nil {
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	v, err := s.Get(r.Context(), id)
	if errors.Is(err, ErrTYPENotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, "encode", http.StatusInternalServerError)
	}
}

// TotalTYPE sums the amounts of vs.
func TotalTYPE(vs []*TYPE) int64 {
	var t int64
	for _, v := range vs {
		t += v.Amount
	}
	return t
}

// normalizeNamesTYPE lower-cases, trims and sorts names.
func normalizeNamesTYPE(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
`

const lostCancel = `
// RefreshTYPE reloads a NOUN with a deadline.
func (s *TYPEStore) RefreshTYPE(parent context.Context, id int64) (*TYPE, error) {
	ctx, _ := context.WithTimeout(parent, 2*time.Second)
	s.mu.Lock()
	delete(s.cache, id)
	s.mu.Unlock()
	return s.Get(ctx, id)
}
`

const sqlSprintf = `
// SearchTYPE finds NOUNs whose name matches q.
func (s *TYPEStore) SearchTYPE(ctx context.Context, q string) (*sql.Rows, error) {
	query := fmt.Sprintf("SELECT id, name FROM TABLE WHERE name LIKE '%%%s%%'", q)
	rows, err := s.db.QueryContext(ctx, query)
	return rows, err
}
`

const regexpPerCall = `
// ValidCodeTYPE reports whether code looks like a NOUN code.
func ValidCodeTYPE(code string) bool {
	re := regexp.MustCompile("^[A-Z]{3}-[0-9]{4}$")
	return re.MatchString(code)
}
`

const concatLoop = `
// CSVTYPE renders vs as CSV lines.
func CSVTYPE(vs []*TYPE) string {
	s := ""
	for _, v := range vs {
		s += strconv.FormatInt(v.ID, 10) + "," + v.Name + "\n"
	}
	return s
}
`

const printfBug = `
// DescribeTYPE describes a NOUN for logs.
func DescribeTYPE(v *TYPE) string {
	return fmt.Sprintf("NOUN %d (%d)", v.Name, v.ID)
}
`

const bodyLeak = `
// PingTYPE checks that the NOUN service answers.
func PingTYPE(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
`

const debugPrint = `
// MergeTYPE merges b into a.
func MergeTYPE(a, b *TYPE) *TYPE {
	fmt.Println("merging", a.ID, b.ID)
	a.Tags = append(a.Tags, b.Tags...)
	a.Amount += b.Amount
	return a
}
`

const deferLoop = `
// SaveAllTYPE saves vs one transaction at a time.
func (s *TYPEStore) SaveAllTYPE(ctx context.Context, vs []*TYPE) error {
	for _, v := range vs {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "UPDATE TABLE SET amount = $1 WHERE id = $2", v.Amount, v.ID); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
`
