package platform

import (
	"strings"
	"time"

	"github.com/google/cel-go/cel"
)

// Definition is a compiled audience definition: a CEL expression of type
// bool over the registry's fields. Each attribute field is a variable of
// its type (string, double, bool, timestamp, list(string)); each identifier
// field is a list(string) of the profile's values; "attrs" is the map of
// all present attributes and "id" the profile ID. An expression that reads
// an attribute the profile lacks evaluates to an error, and a profile whose
// evaluation errs is not a member (so "age >= 18" excludes profiles without
// an age; use has(attrs.age) to test for presence).
type Definition struct {
	Source string
	prg    cel.Program
}

// CompileDefinition type-checks expr against the fields. Unknown fields,
// syntax errors and non-boolean expressions are *InvalidError.
func CompileDefinition(expr string, fields []Field) (*Definition, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, Invalidf("audience definition is empty")
	}
	opts := []cel.EnvOption{
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		cel.Variable("attrs", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("id", cel.IntType),
	}
	for _, f := range fields {
		opts = append(opts, cel.Variable(f.Name, celType(f)))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, Invalidf("audience definition %q: %s", expr, firstIssue(iss.Err().Error()))
	}
	if ast.OutputType() != cel.BoolType {
		return nil, Invalidf("audience definition %q: must be a boolean expression, is %s", expr, ast.OutputType())
	}
	prg, err := env.Program(ast)
	if err != nil {
		return nil, Invalidf("audience definition %q: %v", expr, err)
	}
	return &Definition{Source: expr, prg: prg}, nil
}

func celType(f Field) *cel.Type {
	if f.Identifier {
		return cel.ListType(cel.StringType)
	}
	switch f.Type {
	case TypeNumber:
		return cel.DoubleType
	case TypeBoolean:
		return cel.BoolType
	case TypeDatetime:
		return cel.TimestampType
	case TypeStringArray:
		return cel.ListType(cel.StringType)
	}
	return cel.StringType
}

// firstIssue keeps the first line of a CEL error, without its "ERROR: " tag.
func firstIssue(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimPrefix(s, "ERROR: ")
}

// Match reports whether the profile bound in act belongs to the audience.
func (d *Definition) Match(act Activation) bool {
	out, _, err := d.prg.Eval(map[string]any(act))
	if err != nil {
		return false
	}
	b, ok := out.Value().(bool)
	return ok && b
}

// Activation binds a profile's fields for evaluation; build it once per
// profile and match it against every audience.
type Activation map[string]any

// NewActivation binds p under the registry.
func NewActivation(p *Profile, reg Registry) Activation {
	act := make(Activation, len(p.Attributes)+4)
	act["id"] = p.ID
	act["attrs"] = p.Attributes
	for name, f := range reg {
		if f.Identifier {
			act[name] = p.Values(name)
			continue
		}
		v, ok := p.Attributes[name]
		if !ok || v == nil {
			continue
		}
		switch f.Type {
		case TypeDatetime:
			if s, ok := v.(string); ok {
				if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
					act[name] = ts
				}
			}
		case TypeStringArray:
			if arr, ok := v.([]any); ok {
				ss := make([]string, 0, len(arr))
				for _, e := range arr {
					if s, ok := e.(string); ok {
						ss = append(ss, s)
					}
				}
				act[name] = ss
			}
		default:
			act[name] = v
		}
	}
	if p.Attributes == nil {
		act["attrs"] = map[string]any{}
	}
	return act
}
