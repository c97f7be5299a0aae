module github.com/ourio-go/ourio/compat_test

go 1.26.0

require (
	github.com/ourio-go/ourio v0.0.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.49.0
)

require golang.org/x/text v0.43.0 // indirect

replace github.com/ourio-go/ourio => ../
