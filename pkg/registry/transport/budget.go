package transport

import (
	"context"
	"sync"
	"time"
)

// A Budget is the retry budget of one logical request that takes several
// HTTP requests, such as a blob upload (a POST opens the session, a PUT
// sends the blob, and a new session is opened when the registry loses
// one) or a blob download resumed with Range requests: every failed try
// of any of them counts against one RetryPolicy, so that retries never
// multiply. Requests whose context carries a Budget (WithBudget) spend from
// it; any other request has a budget of its own.
type Budget struct {
	mu       sync.Mutex
	bound    bool
	policy   RetryPolicy
	sleep    func(context.Context, time.Duration) error
	now      func() time.Time
	start    time.Time
	failures int
}

type budgetKey struct{}

// WithBudget returns ctx carrying a new Budget, which the requests sent
// with the returned context share, and the Budget.
func WithBudget(ctx context.Context) (context.Context, *Budget) {
	b := &Budget{}
	return context.WithValue(ctx, budgetKey{}, b), b
}

// budgetOf is the Budget ctx carries, or a new one.
func budgetOf(ctx context.Context) *Budget {
	if b, ok := ctx.Value(budgetKey{}).(*Budget); ok {
		return b
	}
	return &Budget{}
}

// bind gives b the policy and clock of the transport that first spends
// from it; the time spent counts from then.
func (b *Budget) bind(t *retryTransport) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.bound {
		b.bound, b.policy, b.sleep, b.now = true, t.policy, t.sleep, t.now
		b.start = b.now()
	}
}

// deadline is when b's time runs out: MaxTime after its first request.
func (b *Budget) deadline() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.start.Add(b.policy.MaxTime)
}

// spend counts one failed try at host, whose failure was last, and returns
// the wait before the next, at least after (the registry's Retry-After,
// the moment afterAt), or the *RetryError that ends the request when the
// attempts or the time are spent or the registry asks to wait too long.
func (b *Budget) spend(host string, last error, after time.Duration, afterAt time.Time) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	elapsed := b.now().Sub(b.start)
	gaveUp := &RetryError{Host: host, Attempts: b.failures, Elapsed: elapsed, RetryAfter: afterAt, Err: last}
	if after > b.policy.MaxRetryAfter {
		return 0, gaveUp
	}
	backoff := b.policy.Backoff
	for i := 1; i < b.failures && backoff < b.policy.MaxBackoff; i++ {
		backoff *= 2
	}
	wait := max(min(backoff, b.policy.MaxBackoff), after)
	if b.failures >= b.policy.Attempts || elapsed+wait > b.policy.MaxTime {
		return 0, gaveUp
	}
	return wait, nil
}

// giveUp counts a last failed try at host and returns the *RetryError
// that ends the request with limit, Docker Hub's exhausted pull limit.
func (b *Budget) giveUp(host string, last error, limit *RateLimit) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	return &RetryError{Host: host, Attempts: b.failures, Elapsed: b.now().Sub(b.start), Err: last, Limit: limit}
}

// Retry counts err, a failure of one step of b's logical request that the
// transport does not retry by itself (an upload session the registry
// lost, a download cut mid-body), against b, and waits before the caller
// tries again. It returns a *RetryError wrapping err when the budget is
// spent, and ctx's error when ctx ends first. Only a Budget that requests
// have spent from (sent with its context) can be retried.
func (b *Budget) Retry(ctx context.Context, host string, err error) error {
	b.mu.Lock()
	bound := b.bound
	b.mu.Unlock()
	if !bound {
		return err
	}
	wait, gaveUp := b.spend(host, err, 0, time.Time{})
	if gaveUp != nil {
		return gaveUp
	}
	return b.sleep(ctx, wait)
}
