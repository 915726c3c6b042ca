package gitea

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The subset of Gitea's webhook payloads the bot reads.

type hookUser struct {
	Login string `json:"login"`
}

type hookRepo struct {
	FullName string    `json:"full_name"`
	Name     string    `json:"name"`
	Owner    *hookUser `json:"owner"`
}

type hookBranch struct {
	Ref string `json:"ref"`
	Sha string `json:"sha"`
}

type hookPR struct {
	Number int64       `json:"number"`
	State  string      `json:"state"`
	Merged bool        `json:"merged"`
	Head   *hookBranch `json:"head"`
	Base   *hookBranch `json:"base"`
}

type hookChangeFrom struct {
	From string `json:"from"`
}

type hookChanges struct {
	Ref  *hookChangeFrom `json:"ref"`  // Gitea: the target branch changed
	Base *hookChangeFrom `json:"base"` // the same, as some forges name it
}

type hookIssue struct {
	Number      int64           `json:"number"`
	PullRequest json.RawMessage `json:"pull_request"`
}

type hookComment struct {
	Body string `json:"body"`
}

type hookPayload struct {
	Action      string       `json:"action"`
	Number      int64        `json:"number"`
	PullRequest *hookPR      `json:"pull_request"`
	Issue       *hookIssue   `json:"issue"`
	Comment     *hookComment `json:"comment"`
	Changes     *hookChanges `json:"changes"`
	Repository  *hookRepo    `json:"repository"`
	Sender      *hookUser    `json:"sender"`
	IsPull      bool         `json:"is_pull"`
}

// EventKind is what a webhook delivery asks the bot to do.
type EventKind string

// Event kinds.
const (
	// EventPRChanged is a PR that was opened, reopened, pushed to, or whose
	// target branch changed: it needs a review of its head.
	EventPRChanged EventKind = "pr_changed"
	// EventCommand is a /review or /rebase-check comment on a PR.
	EventCommand EventKind = "command"
)

// Commands accepted in PR comments.
const (
	CommandReview      = "/review"
	CommandRebaseCheck = "/rebase-check"
)

// Event is a decoded webhook delivery the bot handles.
type Event struct {
	Kind    EventKind
	Action  string // the payload's action, e.g. "synchronized"
	Repo    string // "owner/name"
	PR      int64
	HeadSHA string // the PR head the event is about; empty for commands
	BaseRef string // the PR's target branch, when the payload says
	Sender  string // login of the user who caused the event
	Command string // CommandReview or CommandRebaseCheck, for EventCommand
}

// ErrUnhandled means the delivery is valid but not one the bot acts on.
var ErrUnhandled = errors.New("unhandled event")

// ErrMalformed means the payload is not a valid webhook payload.
var ErrMalformed = errors.New("malformed payload")

// DecodeEvent decodes the payload of a delivery whose X-Gitea-Event header
// is event. It returns an error wrapping ErrUnhandled for deliveries the bot
// ignores and ErrMalformed for payloads it cannot read.
func DecodeEvent(event string, body []byte) (*Event, error) {
	switch event {
	case "pull_request", "issue_comment":
	default:
		return nil, fmt.Errorf("event %q: %w", event, ErrUnhandled)
	}
	var p hookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	repo, err := p.repo()
	if err != nil {
		return nil, err
	}
	ev := &Event{Action: p.Action, Repo: repo}
	if p.Sender != nil {
		ev.Sender = p.Sender.Login
	}
	if event == "pull_request" {
		return decodePR(ev, &p)
	}
	return decodeComment(ev, &p)
}

func (p *hookPayload) repo() (string, error) {
	r := p.Repository
	if r == nil {
		return "", fmt.Errorf("%w: no repository", ErrMalformed)
	}
	full := r.FullName
	if full == "" && r.Owner != nil && r.Owner.Login != "" && r.Name != "" {
		full = r.Owner.Login + "/" + r.Name
	}
	if err := checkRepoName(full); err != nil {
		return "", fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return full, nil
}

func decodePR(ev *Event, p *hookPayload) (*Event, error) {
	switch p.Action {
	case "opened", "reopened", "synchronized":
	case "edited":
		if p.Changes == nil || (p.Changes.Ref == nil && p.Changes.Base == nil) {
			return nil, fmt.Errorf("pull_request edited without a target change: %w", ErrUnhandled)
		}
	default:
		return nil, fmt.Errorf("pull_request action %q: %w", p.Action, ErrUnhandled)
	}
	if p.PullRequest == nil {
		return nil, fmt.Errorf("%w: pull_request event without a pull_request", ErrMalformed)
	}
	ev.Kind = EventPRChanged
	ev.PR = p.PullRequest.Number
	if ev.PR == 0 {
		ev.PR = p.Number
	}
	if ev.PR <= 0 {
		return nil, fmt.Errorf("%w: no PR number", ErrMalformed)
	}
	if p.PullRequest.Head != nil {
		ev.HeadSHA = p.PullRequest.Head.Sha
	}
	if p.PullRequest.Base != nil {
		ev.BaseRef = p.PullRequest.Base.Ref
	}
	return ev, nil
}

func decodeComment(ev *Event, p *hookPayload) (*Event, error) {
	if p.Action != "created" {
		return nil, fmt.Errorf("issue_comment action %q: %w", p.Action, ErrUnhandled)
	}
	if p.Issue == nil || p.Comment == nil {
		return nil, fmt.Errorf("%w: issue_comment without issue or comment", ErrMalformed)
	}
	isPull := p.IsPull || p.PullRequest != nil || (len(p.Issue.PullRequest) > 0 && string(p.Issue.PullRequest) != "null")
	if !isPull {
		return nil, fmt.Errorf("comment on an issue: %w", ErrUnhandled)
	}
	cmd := ParseCommand(p.Comment.Body)
	if cmd == "" {
		return nil, fmt.Errorf("comment is not a command: %w", ErrUnhandled)
	}
	if p.Issue.Number <= 0 {
		return nil, fmt.Errorf("%w: no PR number", ErrMalformed)
	}
	ev.Kind, ev.PR, ev.Command = EventCommand, p.Issue.Number, cmd
	return ev, nil
}

// ParseCommand returns the command a comment body is, or "". A command is
// the whole comment, apart from surrounding white space: "/review" or
// "/rebase-check".
func ParseCommand(body string) string {
	switch c := strings.TrimSpace(body); c {
	case CommandReview, CommandRebaseCheck:
		return c
	}
	return ""
}
