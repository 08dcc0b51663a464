package bench

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// heapSampleInterval is how often the peak heap is sampled. runtime/metrics
// reads without stopping the world, so sampling barely disturbs the run.
const heapSampleInterval = 5 * time.Millisecond

// HeapInuse is, as runtime.MemStats documents it, the bytes of in-use
// spans: those holding objects plus their unused remainder.
var heapMetrics = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}

// heapSampler records the largest heap-in-use seen between start and stop.
type heapSampler struct {
	stopCh  chan struct{}
	wg      sync.WaitGroup
	samples []metrics.Sample
	peak    uint64
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stopCh: make(chan struct{}), samples: make([]metrics.Sample, len(heapMetrics))}
	for i, name := range heapMetrics {
		h.samples[i].Name = name
	}
	h.sample()
	h.wg.Add(1)
	go h.loop()
	return h
}

func (h *heapSampler) loop() {
	defer h.wg.Done()
	t := time.NewTicker(heapSampleInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stopCh:
			return
		case <-t.C:
			h.sample()
		}
	}
}

// sample is called by the loop only, or before it starts and after it
// ends, so peak needs no lock.
func (h *heapSampler) sample() {
	metrics.Read(h.samples)
	var inuse uint64
	for _, s := range h.samples {
		if s.Value.Kind() == metrics.KindUint64 {
			inuse += s.Value.Uint64()
		}
	}
	h.peak = max(h.peak, inuse)
}

// stop ends sampling, takes a last sample and returns the peak.
func (h *heapSampler) stop() uint64 {
	close(h.stopCh)
	h.wg.Wait()
	h.sample()
	return h.peak
}

// rss reads the process's resident set size and its peak (VmRSS and VmHWM
// of /proc/self/status), in bytes; false where /proc is not Linux's.
func rss() (current, peak uint64, ok bool) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, false
	}
	var found int
	for line := range strings.Lines(string(status)) {
		name, value, _ := strings.Cut(line, ":")
		var dst *uint64
		switch name {
		case "VmRSS":
			dst = &current
		case "VmHWM":
			dst = &peak
		default:
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, false
		}
		*dst = kb << 10
		found++
	}
	return current, peak, found == 2
}

// resetPeakRSS returns the memory the Go heap no longer uses to the
// system and restarts the peak (VmHWM) from the current RSS, so that a run
// measures its own peak, not that of the runs before it. Linux only; false
// elsewhere.
func resetPeakRSS() bool {
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// liveHeap is the heap in use after a full collection: what the process
// retains, garbage excluded.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
