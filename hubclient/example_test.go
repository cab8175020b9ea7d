package hubclient_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/hubcmd"
)

// A hub signs a merge/start for pod-7; the pod verifies it, then refuses
// it the second time.
func Example() {
	now := time.Date(2026, 11, 29, 21, 0, 0, 0, time.UTC)
	key := hubclient.Key{ID: "hub-2026", Private: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))}

	// The hub's side.
	signer, err := hubclient.NewSigner(key, hubclient.Options{Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	tok, err := signer.Sign(hubcmd.MergeStart{Session: "s-42", Dreamscape: "ocean-drift", Start: now.Add(time.Minute), MaxDuration: 8 * time.Hour}, "pod-7")
	if err != nil {
		panic(err)
	}

	// The pod's side, given the public set.
	public, err := hubclient.PublicSet(key)
	if err != nil {
		panic(err)
	}
	keys, err := hubcmd.ParseKeySet(public)
	if err != nil {
		panic(err)
	}
	v, err := hubcmd.NewVerifier(hubcmd.VerifierConfig{
		PodID:  "pod-7",
		Keys:   keys,
		Replay: hubcmd.NewMemoryReplayCache(0, func() time.Time { return now }),
	})
	if err != nil {
		panic(err)
	}
	cmd, err := v.Verify(tok.Raw, now.Add(2*time.Second), true)
	if err != nil {
		panic(err)
	}
	start := cmd.Args.(hubcmd.MergeStart)
	fmt.Println(cmd.Name(), cmd.Signed, cmd.KeyID, start.Session, start.Dreamscape, start.MaxDuration)
	_, err = v.Verify(tok.Raw, now.Add(3*time.Second), true)
	fmt.Println(err != nil, err.(*hubcmd.Error).Reason, err.(*hubcmd.Error).JTI == tok.ID)
	// Output:
	// merge/start true hub-2026 s-42 ocean-drift 8h0m0s
	// true replayed true
}
