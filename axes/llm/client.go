package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/fiveaxis/fiveaxis/prompts"
)

// Response-format levels, tried in order: a JSON schema (structured
// outputs), then plain JSON mode, then no response_format at all with
// tolerant extraction. A server that rejects a level with 400 or 422 is not
// asked for it again by the same Reviewer.
const (
	formatSchema int32 = iota
	formatJSONObject
	formatText
)

// retryDoer is the HTTP client go-openai uses. It gives every attempt its
// own timeout and retries 429 and 5xx answers and transport errors with
// exponential backoff, honouring Retry-After.
type retryDoer struct {
	client     *http.Client
	timeout    time.Duration // per attempt
	maxRetries int
	baseDelay  time.Duration
	maxDelay   time.Duration
}

// cancelBody cancels the attempt's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func (d *retryDoer) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			if req.GetBody == nil && req.Body != nil {
				return nil, errors.New("llm: request body cannot be replayed for a retry")
			}
			r = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		actx, cancel := context.WithTimeout(ctx, d.timeout)
		resp, err := d.client.Do(r.WithContext(actx))
		retryable := err != nil || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		if !retryable || attempt >= d.maxRetries || ctx.Err() != nil {
			if err != nil {
				cancel()
				return nil, err
			}
			resp.Body = cancelBody{resp.Body, cancel}
			return resp, nil
		}
		delay := d.backoff(attempt)
		if resp != nil {
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				delay = ra
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		cancel()
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			// Waiting would outlive the review: give up now.
			return nil, fmt.Errorf("llm: server asked to wait %s, beyond the deadline: %w", delay, context.DeadlineExceeded)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (d *retryDoer) backoff(attempt int) time.Duration {
	delay := d.baseDelay << attempt
	if delay > d.maxDelay || delay <= 0 {
		delay = d.maxDelay
	}
	// Up to 25% jitter, so that concurrent requests do not retry in step.
	return delay + time.Duration(rand.Int64N(int64(delay)/4+1))
}

// retryAfter parses a Retry-After header: seconds or an HTTP date. It is
// capped at two minutes.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
		if d < 0 {
			d = 0
		}
	} else {
		return 0, false
	}
	return min(d, 2*time.Minute), true
}

// newClient builds the go-openai client for cfg.
func newClient(cfg Config) *openai.Client {
	var oc openai.ClientConfig
	if cfg.Azure {
		oc = openai.DefaultAzureConfig(cfg.APIKey, cfg.BaseURL)
		oc.APIVersion = cfg.AzureAPIVersion
		// The model is the deployment name, used as given.
		oc.AzureModelMapperFunc = func(model string) string { return model }
	} else {
		oc = openai.DefaultConfig(cfg.APIKey)
		if cfg.BaseURL != "" {
			oc.BaseURL = cfg.BaseURL
		}
	}
	oc.OrgID = cfg.Organization
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	oc.HTTPClient = &retryDoer{client: hc, timeout: cfg.RequestTimeout, maxRetries: cfg.MaxRetries, baseDelay: cfg.RetryDelay, maxDelay: 30 * time.Second}
	return openai.NewClientWithConfig(oc)
}

// statusOf returns the HTTP status of a go-openai error, or 0.
func statusOf(err error) int {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return reqErr.HTTPStatusCode
	}
	return 0
}

func toOpenAI(msgs []prompts.Message) []openai.ChatCompletionMessage {
	out := make([]openai.ChatCompletionMessage, len(msgs))
	for i, m := range msgs {
		out[i] = openai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
	}
	return out
}

// errFormatRejected means the server rejected the request's response
// format; the Reviewer has stepped down a level and the request should be
// rendered and sent again.
var errFormatRejected = errors.New("llm: response format rejected")

// chat sends msgs, rendered for response-format level, and returns the reply
// text. When the server rejects the level it steps the Reviewer down and
// returns errFormatRejected.
func (r *Reviewer) chat(ctx context.Context, msgs []prompts.Message, level int32) (string, error) {
	req := openai.ChatCompletionRequest{
		Model:       r.cfg.Model,
		Messages:    toOpenAI(msgs),
		Temperature: 0,
	}
	switch level {
	case formatSchema:
		req.ResponseFormat = &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
				Name: prompts.SchemaName, Schema: prompts.Schema(), Strict: true,
			},
		}
	case formatJSONObject:
		req.ResponseFormat = &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject}
	}
	resp, err := r.client.CreateChatCompletion(ctx, req)
	if err != nil {
		if st := statusOf(err); (st == http.StatusBadRequest || st == http.StatusUnprocessableEntity) && level < formatText {
			r.format.CompareAndSwap(level, level+1)
			r.log.Info("llm: server rejected response format; stepping down", "level", level, "err", err)
			return "", errFormatRejected
		}
		return "", err
	}
	if r.cfg.OnUsage != nil {
		r.cfg.OnUsage(r.cfg.Model, resp.Usage.PromptTokens, resp.Usage.CompletionTokens)
	}
	if len(resp.Choices) == 0 {
		return "", fmt.Errorf("%w: no choices", errMalformed)
	}
	return resp.Choices[0].Message.Content, nil
}
