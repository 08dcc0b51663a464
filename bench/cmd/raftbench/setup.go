package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// setup is what the figures were measured on.
type setup struct {
	Started    time.Time     `json:"started"`
	Duration   time.Duration `json:"duration_ns"`
	CPU        string        `json:"cpu"`
	Cores      int           `json:"cores"`
	GOMAXPROCS int           `json:"gomaxprocs"`
	Go         string        `json:"go"`
	OS         string        `json:"os"`
	Kernel     string        `json:"kernel"`
	MemTotal   string        `json:"mem_total"`
	LogDir     string        `json:"log_dir"`
	LogFS      string        `json:"log_fs"` // file system type and device of LogDir
	LoadBefore string        `json:"load_before"`
	LoadAfter  string        `json:"load_after"`
	DiskBefore diskProbe     `json:"disk_before"`
	DiskAfter  diskProbe     `json:"disk_after"`
	Modules    []string      `json:"modules"` // the compared libraries' versions
}

func describeSetup(logDir string) setup {
	s := setup{
		Started:    time.Now(),
		CPU:        cpuModel(),
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go:         runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Kernel:     firstLine("/proc/sys/kernel/osrelease"),
		MemTotal:   memTotal(),
		LogDir:     logDir,
		LogFS:      fileSystemOf(logDir),
		LoadBefore: loadAverage(),
		DiskBefore: probeDisk(logDir),
		Modules:    moduleVersions(),
	}
	return s
}

func (s *setup) finish(started time.Time) {
	s.Duration = time.Since(started)
	s.LoadAfter = loadAverage()
	s.DiskAfter = probeDisk(s.LogDir)
}

func (s setup) print(w io.Writer) {
	fmt.Fprintf(w, "raftbench, %s, took %v\n", s.Started.Format(time.RFC3339), s.Duration.Round(time.Second))
	fmt.Fprintf(w, "  CPU      %s, %d cores, GOMAXPROCS %d, %s memory\n", s.CPU, s.Cores, s.GOMAXPROCS, s.MemTotal)
	fmt.Fprintf(w, "  Go       %s %s, kernel %s\n", s.Go, s.OS, s.Kernel)
	fmt.Fprintf(w, "  logs     %s on %s\n", s.LogDir, s.LogFS)
	fmt.Fprintf(w, "  load     average %s before, %s after (1, 5, 15 min)\n", s.LoadBefore, s.LoadAfter)
	fmt.Fprintf(w, "  fsync    of a %d B record over preallocated zeros, in the logs' directory:\n", probeRecord)
	fmt.Fprintf(w, "           before %s\n", s.DiskBefore)
	fmt.Fprintf(w, "           after  %s\n", s.DiskAfter)
	fmt.Fprintf(w, "  modules  %s\n", strings.Join(s.Modules, ", "))
	fmt.Fprintf(w, "  caveat   all libraries share this process and these cores; other processes on the machine (see the load)\n"+
		"           distort every figure: figures from a shared machine are to be re-measured on a quiet one.\n")
}

func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(b)) {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err == nil {
				return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	return "unknown"
}

func loadAverage() string {
	f := strings.Fields(firstLine("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// fileSystemOf finds the mount holding dir in /proc/self/mounts: the
// longest mount point that is a prefix of it.
func fileSystemOf(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "unknown file system"
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return "unknown file system"
	}
	best, desc := "", "unknown file system"
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		dev, point, fstype := f[0], f[1], f[2]
		inside := abs == point || strings.HasPrefix(abs, strings.TrimSuffix(point, "/")+"/")
		if inside && len(point) > len(best) {
			best, desc = point, fmt.Sprintf("%s (%s, mounted at %s)", fstype, dev, point)
		}
	}
	return desc
}

// moduleVersions lists the versions of the libraries compared, as built.
func moduleVersions() []string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return []string{"unknown"}
	}
	wanted := map[string]bool{
		"github.com/hashicorp/raft": true, "github.com/hashicorp/raft-boltdb/v2": true, "go.etcd.io/bbolt": true,
		"go.etcd.io/raft/v3": true, "github.com/nats-io/nats-server/v2": true, "github.com/nats-io/nats.go": true,
	}
	var out []string
	for _, m := range bi.Deps {
		if wanted[m.Path] {
			out = append(out, m.Path+" "+m.Version)
		}
	}
	return out
}
