package contract_test

import (
	"testing"
	"time"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/uplink"
)

// What the reference hub publishes validates against the schemas and is
// read by the pod's parsers as sent; what the schemas refuse, the parsers
// refuse too.
func TestTheHubsStatusAndReceiptValidateAndThePodReadsThem(t *testing.T) {
	at := time.Date(2026, 11, 29, 23, 0, 0, 123456789, time.UTC)
	for _, online := range []bool{true, false} {
		b := hubclient.HubStatusPayload(online, at)
		mustValidate(t, "hub-status", b)
		st, err := uplink.ParseHubStatus(b)
		if err != nil || st.Online != online || !st.TS.Equal(at) {
			t.Fatalf("ParseHubStatus(%s) = %+v, %v", b, st, err)
		}
	}
	for _, upto := range []uint64{0, 249, 1<<53 - 1} {
		b := hubclient.ReceiptPayload(upto, at)
		mustValidate(t, "receipt", b)
		r, err := uplink.ParseReceipt(b)
		if err != nil || r.Upto != upto || !r.TS.Equal(at) {
			t.Fatalf("ParseReceipt(%s) = %+v, %v", b, r, err)
		}
	}
	for _, bad := range []string{
		`{"upto":1}`,
		`{"upto":-1,"ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":1.5,"ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":"1","ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":9007199254740992,"ts":"2026-11-29T23:00:00Z"}`,
		`{"upto":1,"ts":"yesterday"}`,
		`{"upto":1,"ts":"2026-11-29T23:00:00Z","pod":"p1"}`,
	} {
		if validate(t, "receipt", []byte(bad)) == nil {
			t.Errorf("receipt.json accepts %s", bad)
		}
		if _, err := uplink.ParseReceipt([]byte(bad)); err == nil {
			t.Errorf("ParseReceipt accepts %s", bad)
		}
	}
	for _, bad := range []string{
		`{"online":true}`,
		`{"online":"true","ts":"2026-11-29T23:00:00Z"}`,
		`{"online":true,"ts":"2026-11-29T23:00:00Z","state":"idle"}`,
	} {
		if validate(t, "hub-status", []byte(bad)) == nil {
			t.Errorf("hub-status.json accepts %s", bad)
		}
		if _, err := uplink.ParseHubStatus([]byte(bad)); err == nil {
			t.Errorf("ParseHubStatus accepts %s", bad)
		}
	}
}
