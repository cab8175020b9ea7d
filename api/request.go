package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// decodeRequest reads one request body of at most max bytes into v: one
// JSON object of v's keys only, nothing after it. With allowEmpty an
// empty (or blank) body leaves v alone and returns empty true. notObject
// begins the error of a body that is no such object (e.g. `request is not
// an ack object (want {"note": "..."})`). It is what every POST of the
// local API takes: bad input is refused whole, with a line saying why.
func decodeRequest(r io.Reader, max int, allowEmpty bool, v any, notObject string) (empty bool, err error) {
	body, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return false, fmt.Errorf("read request: %w", err)
	}
	if len(body) > max {
		return false, fmt.Errorf("request larger than %d bytes", max)
	}
	if allowEmpty && len(bytes.TrimSpace(body)) == 0 {
		return true, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return false, fmt.Errorf("%s: %w", notObject, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return false, errors.New("request has data after its object")
	}
	return false, nil
}

// post sends req as JSON to path and decodes the reply into out. A 409 is
// the pod's refusal (an error wrapping ErrRefused, worded by the pod: its
// reply's error, replyErr); any other status but 200 is an error naming
// the call.
func (c *Client) post(ctx context.Context, path, call string, req, out any, replyErr func() string) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	code, err := c.doBody(ctx, http.MethodPost, path, body, out)
	switch {
	case err != nil:
		return err
	case code == http.StatusOK:
		return nil
	case code == http.StatusConflict:
		return refusal(replyErr())
	}
	return fmt.Errorf("api: %s: %d: %s", call, code, replyErr())
}
