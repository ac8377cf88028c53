package job

import "go.yaml.in/yaml/v3"

// Spec is one job as declared in lakeport.yaml (placeholder while the engine lands).
type Spec struct {
	Index      int
	Name       string
	Kind       string
	Connection string
	Settings   yaml.Node
}
