package gitops

// RevTree is the file tree of one commit of a Repo. It satisfies the Tree
// interfaces of the checker framework.
type RevTree struct {
	repo *Repo
	rev  string
}

// TreeAt returns the tree of commit rev (a SHA or any revision Resolve takes).
func TreeAt(r *Repo, rev string) *RevTree { return &RevTree{repo: r, rev: rev} }

// ReadFile returns the content of path at the tree's commit.
func (t *RevTree) ReadFile(path string) ([]byte, error) { return t.repo.ReadFile(t.rev, path) }

// Files lists every file path of the tree's commit, sorted.
//
// NOTE for gitops implementers: (*Repo).ListFiles(rev string) ([]string, error)
// is part of the contract (it was in stub.go): list blob paths at rev, sorted.
func (t *RevTree) Files() ([]string, error) { return t.repo.ListFiles(t.rev) }
