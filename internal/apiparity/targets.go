package apiparity

// Targets are the platforms the project's CI vets, besides linux/amd64, as
// GOOS/GOARCH pairs.
var Targets = [][2]string{
	{"darwin", "arm64"}, {"darwin", "amd64"}, {"windows", "amd64"}, {"freebsd", "amd64"},
	{"linux", "386"}, {"linux", "arm"}, {"linux", "arm64"},
}
