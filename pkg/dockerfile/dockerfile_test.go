package dockerfile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// describe renders the FROMs of f compactly for table tests:
// "LINE IMAGE [platform=P] [as=S] [stage] [scratch]".
func describe(f *File) string {
	var parts []string
	for _, fr := range f.Froms {
		s := fmt.Sprintf("%d %s", fr.Line, fr.Image)
		if fr.Platform != "" {
			s += " platform=" + fr.Platform
		}
		if fr.Stage != "" {
			s += " as=" + fr.Stage
		}
		if fr.StageRef {
			s += " stage"
		}
		if fr.Scratch() {
			s += " scratch"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		src       string
		buildArgs map[string]string
		want      string // describe() of the result
	}{
		{
			name: "single stage",
			src:  "FROM golden/aspnet-core:3.0\nCOPY . /app\n",
			want: "1 golden/aspnet-core:3.0",
		},
		{
			name: "multi-stage with stage reference and case-insensitive keywords",
			src: `# build
from golang:1.22 As Build
RUN go build
FROM build AS test
FROM gcr.io/distroless/static AS final
COPY --from=build /x /x
`,
			want: "2 golang:1.22 as=build; 4 build as=test stage; 5 gcr.io/distroless/static as=final",
		},
		{
			name: "a stage named later is not a reference",
			src:  "FROM app\nFROM nginx AS app\n",
			want: "1 app; 2 nginx as=app",
		},
		{
			name: "scratch",
			src:  "FROM scratch\nCOPY x /\n",
			want: "1 scratch scratch",
		},
		{
			name: "global ARG defaults, all forms",
			src: `ARG REG=registry.local:5000
ARG TAG
ARG IMG="golden/aspnet-core"
FROM ${REG}/$IMG:${TAG:-3.0}
FROM ${MISSING:-nginx}:${TAG-1.25}
FROM ${REG:+${REG}/}base${SUFFIX}:1
ARG REG=ignored-after-from
FROM $REG/x
`,
			want: "4 registry.local:5000/golden/aspnet-core:3.0; 5 nginx:1.25; 6 registry.local:5000/base:1; 8 registry.local:5000/x",
		},
		{
			name:      "build arguments override defaults",
			src:       "ARG TAG=3.0\nARG BASE\nFROM ${BASE:-golden/x}:$TAG\n",
			buildArgs: map[string]string{"TAG": "3.1", "BASE": "golden/y"},
			want:      "3 golden/y:3.1",
		},
		{
			name: "ARG defaults refer to earlier ARGs, several per line",
			src:  "ARG A=golden B=${A}/app:1\nFROM $B\n",
			want: "2 golden/app:1",
		},
		{
			name: "platform flag",
			src:  "ARG BUILDPLATFORM=linux/amd64\nFROM --platform=$BUILDPLATFORM golang:1.22 AS build\n",
			want: "2 golang:1.22 platform=linux/amd64 as=build",
		},
		{
			name: "continuations with comments and blank lines inside",
			src:  "FROM \\\n# a comment\n\n    golden/base:1 \\\n  AS base\nRUN true\n",
			want: "1 golden/base:1 as=base",
		},
		{
			name: "escape directive",
			src:  "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022 `\n  AS win\nRUN dir c:\\\n",
			want: "2 mcr.microsoft.com/windows/servercore:ltsc2022 as=win",
		},
		{
			name: "directive after a comment is a comment",
			src:  "# hello\n# escape=`\nFROM a:1 \\\n AS b\n",
			want: "3 a:1 as=b",
		},
		{
			name: "syntax directive then escape",
			src:  "# syntax=docker/dockerfile:1\n#escape = `\nFROM a:1\n",
			want: "3 a:1",
		},
		{
			name: "here-documents are not instructions",
			src:  "FROM a:1\nRUN <<EOF\nFROM evil:1\nEOF\nCOPY <<-\"END\" /x\n\tFROM evil:2\n\tEND\nFROM b:2\n",
			want: "1 a:1; 8 b:2",
		},
		{
			name: "CRLF line endings",
			src:  "FROM a:1 \\\r\n  AS x\r\nFROM x\r\n",
			want: "1 a:1 as=x; 3 x stage",
		},
		{
			name: "indented instructions and comments",
			src:  "  # c\n\tFROM a:1\n",
			want: "2 a:1",
		},
		{
			name: "quotes and escapes in FROM",
			src:  "ARG V=1\nFROM \"golden/a:$V\"\nFROM 'golden/b:$V'\nFROM golden/c:\\$V\n",
			want: "2 golden/a:1; 3 golden/b:$V; 4 golden/c:$V",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse([]byte(tt.src), tt.buildArgs)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(f); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			for _, fr := range f.Froms {
				if fr.Contiguous && tt.src[fr.Start:fr.End] != fr.Raw {
					t.Errorf("source[%d:%d] = %q, want %q", fr.Start, fr.End, tt.src[fr.Start:fr.End], fr.Raw)
				}
			}
		})
	}
}

func TestParseLinesAndOffsets(t *testing.T) {
	t.Parallel()
	src := "# syntax=docker/dockerfile:1\nARG X=1\n\nFROM --platform=linux/arm64 golden/a:1 \\\n    AS one\nFROM golden/\\\nb:2\n"
	f, err := Parse([]byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Froms) != 2 {
		t.Fatalf("froms = %+v", f.Froms)
	}
	a, b := f.Froms[0], f.Froms[1]
	if a.Line != 4 || a.EndLine != 5 || !a.Contiguous || src[a.Start:a.End] != "golden/a:1" {
		t.Errorf("first FROM = %+v", a)
	}
	if b.Line != 6 || b.EndLine != 7 || b.Contiguous || b.Image != "golden/b:2" {
		t.Errorf("second FROM = %+v", b)
	}
	if len(f.Args) != 1 || f.Args[0].Name != "X" || f.Args[0].Value != "1" || f.Args[0].Line != 2 || src[f.Args[0].Start:f.Args[0].End] != "1" {
		t.Errorf("args = %+v", f.Args)
	}
}

// A byte order mark is no part of the first instruction, and offsets stay
// those of the file, so that pin rewrites it in place.
func TestParseByteOrderMark(t *testing.T) {
	t.Parallel()
	src := "\ufeffFROM golden/a:1\r\nFROM scratch\r\n"
	f, err := Parse([]byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Froms) != 2 || f.Froms[0].Line != 1 || src[f.Froms[0].Start:f.Froms[0].End] != "golden/a:1" {
		t.Errorf("froms = %+v", f.Froms)
	}
}

func TestParseArgOffsets(t *testing.T) {
	t.Parallel()
	src := "ARG  A=golden/a:1   B \\\n  C=\"x y\" D=$A E=\nFROM $A\n"
	f, err := Parse([]byte(src), map[string]string{"D": "over"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range f.Args {
		span := ""
		if a.Default != "" {
			span = src[a.Start:a.End]
		}
		got = append(got, fmt.Sprintf("%s=%s[%s]%v,%v", a.Name, a.Value, span, a.Contiguous, a.Overridden))
	}
	want := `A=golden/a:1[golden/a:1]true,false B=[]false,false C=x y["x y"]true,false D=over[$A]true,true E=[]false,false`
	if g := strings.Join(got, " "); g != want {
		t.Errorf("args:\n got  %s\n want %s", g, want)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want string // part of the error
	}{
		{"FROM\n", "one or three arguments"},
		{"FROM a b\n", "one or three arguments"},
		{"FROM a AS\n", "one or three arguments"},
		{"FROM --platform linux/amd64 a\n", "needs a value"},
		{"FROM --foo=bar a\n", "unknown FROM flag"},
		{"ARG X\nFROM $X\n", "should not be blank"},
		{"FROM ${X:?unset}\n", "X: unset"},
		{"FROM ${X\n", "missing '}'"},
		{"FROM ${X/a/b}\n", "unsupported modifier"},
		{"FROM ${}\n", "missing variable name"},
		{"# escape=x\nFROM a\n", "invalid escape"},
		{"# escape=`\n# escape=`\nFROM a\n", "only one escape"},
		{"ARG\nFROM a\n", "at least one argument"},
		{"ARG =x\nFROM a\n", "can not be blank"},
		{"ARG X=\"a\nFROM a\n", "unterminated"},
		{"FROM 'a\n", "single-quote"},
		{"", "no FROM instruction"},
		{"# a comment\n\n", "no FROM instruction"},
		{"ARG X=1\n", "no FROM instruction"},
		{"\x00\xff\x13binary\n", "before the first FROM"},
		{"RUN true\nFROM a\n", "line 1: RUN before the first FROM"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.src), nil)
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want ErrSyntax with %q", tt.src, err, tt.want)
		}
	}
}

// FuzzParse checks that Parse never panics and that what it reports is
// consistent with the source: offsets inside it, contiguous operands equal
// to their text, lines in order.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"FROM a:1\n",
		"# escape=`\nFROM a `\n AS b\nFROM b\n",
		"ARG X=${Y:-z}\nFROM --platform=$P ${X}:1 AS s\n",
		"FROM a\nRUN <<EOF\nFROM b\nEOF\n",
		"FROM \\\n# c\n\n a\r\n",
		"FROM \"a$X\" AS 'b'\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := Parse(src, nil)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		last := 0
		for _, fr := range file.Froms {
			if fr.Line < last || fr.EndLine < fr.Line || fr.Start < 0 || fr.End > len(src) || fr.Start >= fr.End {
				t.Fatalf("inconsistent FROM %+v for %q", fr, src)
			}
			if fr.Contiguous && string(src[fr.Start:fr.End]) != fr.Raw {
				t.Fatalf("FROM %+v: source has %q", fr, src[fr.Start:fr.End])
			}
			last = fr.Line
		}
		for _, a := range file.Args {
			if a.Contiguous && string(src[a.Start:a.End]) != a.Default {
				t.Fatalf("ARG %+v: source has %q", a, src[a.Start:a.End])
			}
		}
	})
}
