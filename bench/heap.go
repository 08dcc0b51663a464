package bench

import (
	"runtime/metrics"
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
