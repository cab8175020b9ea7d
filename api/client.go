package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Client talks to a pod's local API over its Unix socket.
type Client struct {
	http *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}
	return &Client{http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Status asks for the pod's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	_, err := c.do(ctx, http.MethodGet, "/v1/status", &st)
	return st, err
}

// Ack asks the pod to clear its latched abort, with note (may be empty)
// recorded beside it. The pod records who asked from the socket, not from
// the request. A refusal is returned as an error wrapping ErrRefused, with
// the pod's reason.
func (c *Client) Ack(ctx context.Context, note string) (AckReply, error) {
	var r AckReply
	err := c.post(ctx, "/v1/ack", "ack", AckRequest{Note: note}, &r, func() string { return r.Error })
	return r, err
}

// Consent grants the sleeper's consent for d (0: the pod's default) or,
// with action "withdraw", withdraws it. A request the pod refuses is an
// error with its reason.
func (c *Client) Consent(ctx context.Context, action string, d time.Duration) (ConsentReply, error) {
	req := ConsentRequest{Action: action}
	if d != 0 {
		req.For = d.String()
	}
	body, err := json.Marshal(req)
	if err != nil {
		return ConsentReply{}, err
	}
	var r ConsentReply
	code, err := c.doBody(ctx, http.MethodPost, "/v1/consent", body, &r)
	if err != nil {
		return r, err
	}
	if code != http.StatusOK {
		return r, fmt.Errorf("api: consent: %d: %s", code, r.Error)
	}
	return r, nil
}

func (c *Client) do(ctx context.Context, method, path string, out any) (int, error) {
	return c.doBody(ctx, method, path, nil, out)
}

func (c *Client) doBody(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://podd"+path, rd)
	if err != nil {
		return 0, fmt.Errorf("api: %s %s: %w", method, path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("api: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("api: %s %s: read reply: %w", method, path, err)
	}
	if err := json.Unmarshal(reply, out); err != nil {
		return resp.StatusCode, fmt.Errorf("api: %s %s: decode reply (%d): %w", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, nil
}

// refusal is the pod's reason for refusing a request, as the pod worded it.
type refusal string

func (r refusal) Error() string { return string(r) }
func (r refusal) Unwrap() error { return ErrRefused }
