//go:build linux

package core

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRuntimeMsgRing ports the project's defining example: a task sent from
// one ring runs on the other, and each ring sees only its own completion.
func TestRuntimeMsgRing(t *testing.T) {
	rt1, err := ktNew(Options{Entries: 16})
	require.NoError(t, err)
	defer rt1.Close()
	rt2, err := rt1.InitChild(Options{Entries: 16})
	require.NoError(t, err)
	defer rt2.Close()

	type msg uint16
	const (
		msgRt1 msg = iota
		msgRt2
	)
	type foo2 struct{ rt1, rt2 bool }
	callback := func(_ Runtime, task *Task) error {
		self := UserdataAs[*foo2](task)
		switch MsgAs[msg](task) {
		case msgRt1:
			self.rt1 = true
		case msgRt2:
			self.rt2 = true
		}
		return nil
	}
	var foo foo2

	// The task we will send from rt1 to rt2.
	target := rt1.GetTask()
	target.Userdata = &foo
	target.Callback = callback
	target.Msg = uint16(msgRt2)

	_, err = rt1.MsgRing(rt2, target, Ctx{Callback: callback, Msg: uint16(msgRt1), Userdata: &foo})
	require.NoError(t, err)

	require.NoError(t, rt1.Run(UntilDone))
	require.True(t, foo.rt1)
	require.False(t, foo.rt2)

	require.NoError(t, rt2.Run(UntilDone))
	require.True(t, foo.rt1)
	require.True(t, foo.rt2)
}
