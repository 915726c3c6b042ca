package gitea_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/fiveaxis/fiveaxis/reviewer"
)

// A clean PR, delivered by a real Gitea webhook, gets APPROVED and a success
// status on its head.
func TestE2ECleanPRApproved(t *testing.T) {
	f := setup(t, 0)
	f.hookServer()
	f.branch("feature", "main")
	f.write("greet.go", "package main\n\n// Greeting is the greeting.\nconst Greeting = \"hi\"\n")
	f.commit("add greeting")
	f.push("feature")
	n, head := f.openPR("feature", "main", "Add a greeting")

	job := f.queue.next(t, func(j reviewer.Job) bool { return j.PR == n })
	if job.Kind != reviewer.JobReview || job.HeadSHA != head || job.Reason != "opened" {
		t.Fatalf("job = %+v, want a review of %s for opened", job, head)
	}
	if out := f.process(job); out != reviewer.OutcomePosted {
		t.Fatalf("outcome = %s, want posted", out)
	}
	r := findReview(t, f.reviews(n), head)
	if r.State != string(reviewer.EventApprove) {
		t.Errorf("review state = %s, want APPROVED", r.State)
	}
	if !strings.Contains(r.Body, "**Verdict: APPROVED**") || !strings.Contains(r.Body, "Reviewed at head SHA `"+head+"`") {
		t.Errorf("body lacks the verdict or head:\n%s", r.Body)
	}
	m, _ := reviewer.ParseMarker(r.Body)
	if m.Base != "main" || m.Version != "test" || m.Config == "" || m.Kind != reviewer.MarkerReview {
		t.Errorf("marker = %+v", m)
	}
	st := f.status(head)
	if st == nil || st.State != sdk.StatusSuccess {
		t.Fatalf("status = %+v, want success", st)
	}
	if st.Description == "" {
		t.Error("status has no description")
	}
	// The PR is listed for the sweep, by repository and among all the
	// repositories the bot can see.
	for _, scope := range []string{f.repo, ""} {
		prs, err := f.client.OpenPullRequests(f.ctx, scope)
		if err != nil {
			t.Fatalf("OpenPullRequests(%q): %v", scope, err)
		}
		found := false
		for _, p := range prs {
			if p.Repo == f.repo && p.Number == n && p.HeadSHA == head && p.BaseRef == "main" && p.Open() {
				found = true
			}
		}
		if !found {
			t.Errorf("OpenPullRequests(%q) lacks %s#%d", scope, f.repo, n)
		}
	}
}

// A PR that builds SQL with fmt.Sprintf gets REQUEST_CHANGES with an inline
// comment on the offending line, and a failure status.
func TestE2EBlockingBugRequestChanges(t *testing.T) {
	f := setup(t, 0)
	f.branch("feature", "main")
	src := `package main

import (
	"database/sql"
	"fmt"
	"net/http"
)

func lookup(db *sql.DB, r *http.Request) (*sql.Rows, error) {
	name := r.URL.Query().Get("name")
	q := fmt.Sprintf("SELECT * FROM users WHERE name = '%s'", name)
	return db.Query(q)
}
`
	f.write("store.go", src)
	f.commit("look users up by name")
	f.push("feature")
	n, head := f.openPR("feature", "main", "Look users up")
	wantLine := 0
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, "fmt.Sprintf(\"SELECT") {
			wantLine = i + 1
		}
	}

	if code := f.deliver("pull_request", f.prPayload("opened", n, head, "main", f.srv.AdminUser)); code != http.StatusAccepted {
		t.Fatalf("webhook = %d, want 202", code)
	}
	if out := f.process(f.queue.next(t, nil)); out != reviewer.OutcomePosted {
		t.Fatalf("outcome = %s, want posted", out)
	}
	r := findReview(t, f.reviews(n), head)
	if r.State != string(reviewer.EventRequestChanges) {
		t.Errorf("review state = %s, want REQUEST_CHANGES", r.State)
	}
	comments, _, err := f.admin.ListPullReviewComments(f.owner(), f.name(), n, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(comments) != 1 {
		t.Fatalf("got %d inline comments, want 1", len(comments))
	}
	c := comments[0]
	if c.Path != "store.go" || int(c.LineNum) != wantLine || !strings.Contains(c.Body, "security/test-sql-sprintf") {
		t.Errorf("inline comment at %s:%d %q, want store.go:%d with the rule", c.Path, c.LineNum, c.Body, wantLine)
	}
	if st := f.status(head); st == nil || st.State != sdk.StatusFailure {
		t.Errorf("status = %+v, want failure", st)
	}
}

// A PR whose own target branch (develop, not main) moved past max_behind
// gets a needs-rebase review whose numbers match git rev-list; it is posted
// once per target tip bucket.
func TestE2ENeedsRebaseAgainstOwnTarget(t *testing.T) {
	const maxBehind = 3
	f := setup(t, maxBehind)
	f.branch("develop", "main")
	f.push("develop")
	f.branch("feature", "develop")
	f.write("feature.go", "package main\n\n// Feature is new.\nconst Feature = 1\n")
	f.commit("feature")
	f.push("feature")
	// main moves a lot; it is not the PR's target and must not count.
	f.branch("main", "main")
	for i := range 8 {
		f.write(fmt.Sprintf("main%d.txt", i), "x\n")
		f.commit(fmt.Sprintf("main %d", i))
	}
	f.push("main")
	// develop moves past max_behind.
	f.branch("develop", "develop")
	for i := range 5 {
		f.write(fmt.Sprintf("dev%d.txt", i), "x\n")
		f.commit(fmt.Sprintf("develop %d", i))
	}
	f.push("develop")
	n, head := f.openPR("feature", "develop", "Feature on develop")

	behind, _ := strconv.Atoi(f.git("rev-list", "--count", "feature..develop"))
	if behind != 5 {
		t.Fatalf("test setup: behind = %d", behind)
	}
	if out := f.process(reviewer.Job{Kind: reviewer.JobReview, Repo: f.repo, PR: n, HeadSHA: head, Reason: "opened"}); out != reviewer.OutcomePosted {
		t.Fatalf("outcome = %s, want posted", out)
	}
	r := findReview(t, f.reviews(n), head)
	if r.State != string(reviewer.EventRequestChanges) {
		t.Errorf("state = %s, want REQUEST_CHANGES", r.State)
	}
	want := fmt.Sprintf("which is %d commits behind the current `develop`", behind)
	if !strings.Contains(r.Body, "**Verdict: NEEDS REBASE**") || !strings.Contains(r.Body, want) {
		t.Errorf("body lacks %q:\n%s", want, r.Body)
	}
	m, _ := reviewer.ParseMarker(r.Body)
	if m.Kind != reviewer.MarkerNeedsRebase || m.Bucket != reviewer.RebaseBucket(behind, maxBehind) || m.Base != "develop" {
		t.Errorf("marker = %+v", m)
	}
	if st := f.status(head); st == nil || st.State != sdk.StatusFailure || !strings.Contains(st.Description, "5 commits behind develop") {
		t.Errorf("status = %+v", st)
	}

	// Looking again changes nothing: same head, same bucket.
	check := reviewer.Job{Kind: reviewer.JobRebaseCheck, Repo: f.repo, PR: n, Reason: "comment:/rebase-check"}
	if out := f.process(check); out != reviewer.OutcomeNotDue {
		t.Fatalf("second rebase check = %s, want not_due", out)
	}
	if out := f.process(reviewer.Job{Kind: reviewer.JobReview, Repo: f.repo, PR: n, HeadSHA: head, Reason: "sweep"}); out != reviewer.OutcomeDuplicate {
		t.Fatalf("second review = %s, want duplicate", out)
	}
	if got := len(f.reviews(n)); got != 1 {
		t.Fatalf("%d bot reviews, want 1", got)
	}

	// The target moves on into the next bucket: one more needs-rebase.
	f.write("dev-more.txt", "x\n")
	f.commit("develop more")
	f.push("develop")
	behind, _ = strconv.Atoi(f.git("rev-list", "--count", "feature..develop"))
	if out := f.process(check); out != reviewer.OutcomePosted {
		t.Fatalf("rebase check after the target moved = %s, want posted", out)
	}
	var latest reviewer.PostedReview
	for _, r := range f.reviews(n) {
		latest = r
	}
	want = fmt.Sprintf("which is %d commits behind the current `develop`", behind)
	if !strings.Contains(latest.Body, want) || !strings.Contains(latest.Body, "rebase check") {
		t.Errorf("rebase-check body lacks %q:\n%s", want, latest.Body)
	}
}

// A push to the PR branch gets a new review that supersedes the old one;
// the job for the old head does nothing.
func TestE2EPushSupersedesOldReview(t *testing.T) {
	f := setup(t, 0)
	f.branch("feature", "main")
	f.write("a.go", "package main\n\n// A is a.\nconst A = 1\n")
	f.commit("a")
	f.push("feature")
	n, head1 := f.openPR("feature", "main", "A")
	if out := f.process(reviewer.Job{Kind: reviewer.JobReview, Repo: f.repo, PR: n, HeadSHA: head1, Reason: "opened"}); out != reviewer.OutcomePosted {
		t.Fatalf("first review = %s", out)
	}
	old := findReview(t, f.reviews(n), head1)
	// An older COMMENT review (the verdict when a check could not run):
	// Gitea does not dismiss those by itself, and the bot (write access, not
	// admin) may not either, so it must be marked superseded.
	commentMarker := reviewer.Marker{Head: head1, Base: "main", Version: "test", Config: "c", Kind: reviewer.MarkerReview}
	if err := f.client.PostReview(f.ctx, f.repo, n, reviewer.ReviewPost{Event: reviewer.EventComment, CommitID: head1,
		Body: "some checks could not run\n\n" + commentMarker.String()}); err != nil {
		t.Fatal(err)
	}
	var commentReview reviewer.PostedReview
	for _, r := range f.reviews(n) {
		if r.State == string(reviewer.EventComment) {
			commentReview = r
		}
	}

	f.write("b.go", "package main\n\n// B is b.\nconst B = 2\n")
	head2 := f.commit("b")
	f.push("feature")
	f.waitHead(n, head2)
	if out := f.process(reviewer.Job{Kind: reviewer.JobReview, Repo: f.repo, PR: n, HeadSHA: head1, Reason: "opened"}); out != reviewer.OutcomeHeadMoved {
		t.Fatalf("job of the old head = %s, want head_moved", out)
	}
	if out := f.process(reviewer.Job{Kind: reviewer.JobReview, Repo: f.repo, PR: n, HeadSHA: head2, Reason: "synchronized"}); out != reviewer.OutcomePosted {
		t.Fatalf("second review = %s", out)
	}
	rs := f.reviews(n)
	findReview(t, rs, head2)
	superseded := false
	for _, r := range rs {
		if r.ID == old.ID && r.Dismissed {
			superseded = true
		}
	}
	if !superseded {
		// Without admin rights the bot marks it with a comment instead.
		cs, _, err := f.admin.ListIssueComments(f.owner(), f.name(), n, sdk.ListIssueCommentOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Poster != nil && c.Poster.UserName == f.srv.BotUser && strings.Contains(c.Body, "superseded") {
				superseded = true
			}
		}
	}
	if !superseded {
		t.Errorf("review %d of the old head is neither dismissed nor marked superseded", old.ID)
	}
	cs, _, err := f.admin.ListIssueComments(f.owner(), f.name(), n, sdk.ListIssueCommentOptions{})
	if err != nil {
		t.Fatal(err)
	}
	marked := 0
	for _, c := range cs {
		if c.Poster != nil && c.Poster.UserName == f.srv.BotUser && strings.Contains(c.Body, fmt.Sprintf("Review %d", commentReview.ID)) &&
			strings.Contains(c.Body, "superseded") {
			marked++
		}
	}
	if marked != 1 {
		t.Errorf("the older COMMENT review %d is marked superseded %d times, want once", commentReview.ID, marked)
	}
	// A third head supersedes again, but marks the COMMENT review only once.
	f.write("c.go", "package main\n\n// C is c.\nconst C = 3\n")
	head3 := f.commit("c")
	f.push("feature")
	f.waitHead(n, head3)
	if out := f.process(reviewer.Job{Kind: reviewer.JobReview, Repo: f.repo, PR: n, HeadSHA: head3, Reason: "synchronized"}); out != reviewer.OutcomePosted {
		t.Fatalf("third review = %s", out)
	}
	cs, _, _ = f.admin.ListIssueComments(f.owner(), f.name(), n, sdk.ListIssueCommentOptions{})
	marked = 0
	for _, c := range cs {
		if c.Poster != nil && c.Poster.UserName == f.srv.BotUser && strings.Contains(c.Body, fmt.Sprintf("Review %d", commentReview.ID)) {
			marked++
		}
	}
	if marked != 1 {
		t.Errorf("after a third head the COMMENT review is marked %d times, want once", marked)
	}
	if st := f.status(head2); st == nil || st.State != sdk.StatusSuccess {
		t.Errorf("status of the new head = %+v", st)
	}
}

// A merged PR gets no review, no comment and no status.
func TestE2EMergedPRGetsNothing(t *testing.T) {
	f := setup(t, 0)
	f.branch("feature", "main")
	f.write("c.go", "package main\n\n// C is c.\nconst C = 3\n")
	f.commit("c")
	f.push("feature")
	n, head := f.openPR("feature", "main", "C")
	if _, _, err := f.admin.MergePullRequest(f.owner(), f.name(), n, sdk.MergePullRequestOption{Style: sdk.MergeStyleMerge}); err != nil {
		t.Fatalf("merge: %v", err)
	}
	for _, job := range []reviewer.Job{
		{Kind: reviewer.JobReview, Repo: f.repo, PR: n, HeadSHA: head, Reason: "opened"},
		{Kind: reviewer.JobReview, Repo: f.repo, PR: n, Reason: "comment:/review", Force: true},
		{Kind: reviewer.JobRebaseCheck, Repo: f.repo, PR: n, Reason: "sweep"},
	} {
		if out := f.process(job); out != reviewer.OutcomeClosed {
			t.Errorf("%s job on a merged PR = %s, want closed", job.Kind, out)
		}
	}
	if rs := f.reviews(n); len(rs) != 0 {
		t.Errorf("%d bot reviews on a merged PR", len(rs))
	}
	if st := f.status(head); st != nil {
		t.Errorf("status on a merged PR: %+v", st)
	}
	cs, _, err := f.admin.ListIssueComments(f.owner(), f.name(), n, sdk.ListIssueCommentOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Poster != nil && c.Poster.UserName == f.srv.BotUser {
			t.Errorf("bot commented on a merged PR: %q", c.Body)
		}
	}
}

// A replayed webhook, processed by a fresh bot (as after a restart), posts
// no second review.
func TestE2EReplayedWebhookNoDuplicate(t *testing.T) {
	f := setup(t, 0)
	f.branch("feature", "main")
	f.write("d.go", "package main\n\n// D is d.\nconst D = 4\n")
	f.commit("d")
	f.push("feature")
	n, head := f.openPR("feature", "main", "D")
	payload := f.prPayload("opened", n, head, "main", f.srv.AdminUser)
	for i := range 2 {
		if code := f.deliver("pull_request", payload); code != http.StatusAccepted {
			t.Fatalf("delivery %d = %d, want 202", i, code)
		}
	}
	if out := f.process(f.queue.next(t, nil)); out != reviewer.OutcomePosted {
		t.Fatalf("first = %s", out)
	}
	fresh := reviewer.NewBot(f.client, f.mirrors.Open, f.opts, f.log, "test")
	out, err := fresh.Process(f.ctx, f.queue.next(t, nil))
	if err != nil || out != reviewer.OutcomeDuplicate {
		t.Fatalf("replay = %s, %v; want duplicate", out, err)
	}
	findReview(t, f.reviews(n), head)
	if rs := f.reviews(n); len(rs) != 1 {
		t.Errorf("%d bot reviews, want 1", len(rs))
	}
}

// A /review comment from a user without write access is ignored; from a
// writer it enqueues a forced review. The permission check is real.
func TestE2EReviewCommandNeedsWriteAccess(t *testing.T) {
	f := setup(t, 0)
	f.branch("feature", "main")
	f.write("e.go", "package main\n\n// E is e.\nconst E = 5\n")
	f.commit("e")
	f.push("feature")
	n, _ := f.openPR("feature", "main", "E")
	reader := f.srv.NewUser(t, "reader")
	if _, err := f.admin.AddCollaborator(f.owner(), f.name(), reader, sdk.AddCollaboratorOption{Permission: ptr(sdk.AccessModeRead)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sender, body string
		want         int
		kind         reviewer.JobKind
	}{
		{reader, "/review", http.StatusNoContent, ""},
		{"nobody-at-all", "/review", http.StatusNoContent, ""},
		{f.srv.BotUser, "/review", http.StatusNoContent, ""},
		{f.srv.AdminUser, "looks good", http.StatusNoContent, ""},
		{f.srv.AdminUser, " /review\n", http.StatusAccepted, reviewer.JobReview},
		{f.srv.AdminUser, "/rebase-check", http.StatusAccepted, reviewer.JobRebaseCheck},
	}
	for _, tt := range tests {
		t.Run(tt.sender+" "+strings.TrimSpace(tt.body), func(t *testing.T) {
			before := f.queue.Len()
			code := f.deliver("issue_comment", f.commentPayload(n, tt.body, tt.sender))
			if code != tt.want {
				t.Fatalf("status = %d, want %d", code, tt.want)
			}
			if tt.kind == "" {
				if f.queue.Len() != before {
					t.Fatal("a job was enqueued")
				}
				return
			}
			j := f.queue.next(t, nil)
			if j.Kind != tt.kind || j.PR != n || (tt.kind == reviewer.JobReview && !j.Force) {
				t.Errorf("job = %+v", j)
			}
		})
	}
}

// The whole flow through real Gitea webhooks: opened, a push
// (synchronized), a change of the target branch (edited) and a /review
// comment each enqueue the right job; the bot's own reviews and statuses
// enqueue nothing.
func TestE2ERealWebhookFlow(t *testing.T) {
	f := setup(t, 0)
	f.hookServer()
	f.branch("develop", "main")
	f.push("develop")
	f.branch("feature", "main")
	f.write("h.go", "package main\n\n// H is h.\nconst H = 1\n")
	f.commit("h")
	f.push("feature")
	n, head1 := f.openPR("feature", "main", "H")
	isPR := func(j reviewer.Job) bool { return j.PR == n }

	j := f.queue.next(t, isPR)
	if j.Reason != "opened" || j.HeadSHA != head1 {
		t.Fatalf("job = %+v, want opened at %s", j, head1)
	}
	if out := f.process(j); out != reviewer.OutcomePosted {
		t.Fatalf("opened: %s", out)
	}

	f.write("h2.go", "package main\n\n// H2 is h2.\nconst H2 = 2\n")
	head2 := f.commit("h2")
	f.push("feature")
	j = f.queue.next(t, isPR)
	if j.Reason != "synchronized" || j.HeadSHA != head2 {
		t.Fatalf("job = %+v, want synchronized at %s", j, head2)
	}
	if out := f.process(j); out != reviewer.OutcomePosted {
		t.Fatalf("synchronized: %s", out)
	}

	if _, _, err := f.admin.EditPullRequest(f.owner(), f.name(), n, sdk.EditPullRequestOption{Base: "develop"}); err != nil {
		t.Fatalf("change target: %v", err)
	}
	j = f.queue.next(t, isPR)
	if j.Reason != "base_changed" {
		t.Fatalf("job = %+v, want base_changed", j)
	}
	if out := f.process(j); out != reviewer.OutcomePosted {
		t.Fatalf("base changed: %s", out)
	}
	r := findReviewOn(t, f.reviews(n), head2, "develop")
	if !strings.Contains(r.Body, "against `develop`") {
		t.Errorf("review after the target change is not against develop")
	}

	if _, _, err := f.admin.CreateIssueComment(f.owner(), f.name(), n, sdk.CreateIssueCommentOption{Body: "/review"}); err != nil {
		t.Fatal(err)
	}
	j = f.queue.next(t, isPR)
	if j.Reason != "comment:/review" || !j.Force {
		t.Fatalf("job = %+v, want a forced review", j)
	}
	if out := f.process(j); out != reviewer.OutcomePosted {
		t.Fatalf("/review: %s", out)
	}
	if got := f.queue.Len(); got != 4 {
		t.Errorf("%d jobs enqueued, want 4 (the bot's own events must be ignored)", got)
	}
}

// findReviewOn returns the latest bot review of (head, base).
func findReviewOn(t testing.TB, rs []reviewer.PostedReview, head, base string) reviewer.PostedReview {
	t.Helper()
	for i := len(rs) - 1; i >= 0; i-- {
		if m, ok := reviewer.ParseMarker(rs[i].Body); ok && m.Head == head && m.Base == base {
			return rs[i]
		}
	}
	t.Fatalf("no bot review of %.10s against %s", head, base)
	return reviewer.PostedReview{}
}

// BotComments lists the bot's own plain comments on a PR, not those of
// other users, and the client offers it to the sweep.
func TestE2EBotComments(t *testing.T) {
	f := setup(t, 0)
	f.branch("feature", "main")
	f.write("c.go", "package main\n\n// C is c.\nconst C = 3\n")
	f.commit("c")
	f.push("feature")
	n, _ := f.openPR("feature", "main", "C")
	if _, _, err := f.admin.CreateIssueComment(f.owner(), f.name(), n, sdk.CreateIssueCommentOption{Body: "a human comment"}); err != nil {
		t.Fatal(err)
	}
	var lister reviewer.BotCommentLister = f.client
	if got, err := lister.BotComments(f.ctx, f.repo, n); err != nil || len(got) != 0 {
		t.Fatalf("BotComments before the bot commented: %q, %v; want none", got, err)
	}
	for _, body := range []string{"first bot comment", "second bot comment"} {
		if err := f.client.Comment(f.ctx, f.repo, n, body); err != nil {
			t.Fatal(err)
		}
	}
	got, err := lister.BotComments(f.ctx, f.repo, n)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "first bot comment|second bot comment" {
		t.Errorf("BotComments = %q, want the bot's two comments, oldest first", got)
	}
}
