package dockerfile

import (
	"fmt"
	"strings"
)

func (p *parser) arg(ins *instruction, base int, rest string) error {
	trimmed := strings.TrimLeft(rest, " \t")
	base += len(rest) - len(trimmed)
	words, err := splitArgWords(strings.TrimRight(trimmed, " \t"), p.file.Escape)
	if err != nil {
		return fmt.Errorf("%w: line %d: %w", ErrSyntax, ins.first, err)
	}
	if len(words) == 0 {
		return fmt.Errorf("%w: line %d: ARG requires at least one argument", ErrSyntax, ins.first)
	}
	for _, w := range words {
		name, def, hasDef := strings.Cut(w.text, "=")
		if name == "" {
			return fmt.Errorf("%w: line %d: ARG names can not be blank", ErrSyntax, ins.first)
		}
		a := Arg{Line: ins.first, Name: name}
		if hasDef {
			a.Default = def
			start := base + w.start + len(name) + 1
			if def != "" {
				a.Start, a.End = ins.offset(start), ins.offset(base+w.end-1)+1
				a.Contiguous = a.End-a.Start == len(def)
			}
			v, err := p.expand(def, ins.first)
			if err != nil {
				return err
			}
			a.Value, a.IsSet = v, true
		}
		if v, ok := p.buildArgs[name]; ok {
			a.Value, a.IsSet, a.Overridden = v, true, true
		}
		if a.IsSet {
			p.vars[name] = a.Value
		} else {
			delete(p.vars, name)
		}
		p.file.Args = append(p.file.Args, a)
	}
	return nil
}

// splitArgWords splits ARG's operands on unquoted whitespace, keeping
// quotes and escapes for expand to interpret.
func splitArgWords(s string, escape byte) ([]field, error) {
	var words []field
	start := 0
	var cur strings.Builder
	var quote byte
	inWord := false
	for k := 0; k < len(s); k++ {
		c := s[k]
		if !inWord && c != ' ' && c != '\t' {
			start = k
		}
		switch {
		case c == escape && quote != '\'' && k+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[k+1])
			k++
			inWord = true
		case quote != 0:
			cur.WriteByte(c)
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
			cur.WriteByte(c)
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, field{cur.String(), start, k})
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, field{cur.String(), start, len(s)})
	}
	return words, nil
}

func (p *parser) expand(word string, lineNum int) (string, error) {
	v, err := Expand(word, p.file.Escape, func(name string) (string, bool) {
		v, ok := p.vars[name]
		return v, ok
	})
	if err != nil {
		return "", fmt.Errorf("%w: line %d: %w", ErrSyntax, lineNum, err)
	}
	return v, nil
}
