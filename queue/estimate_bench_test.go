package queue

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkEstimate is the cost of one announcement, by position: the exact
// quantile costs O(√k) up to wilsonHilfertyFrom, then O(1).
func BenchmarkEstimate(b *testing.B) {
	e := learned(5*time.Minute, EstimatorOptions{})
	for _, ahead := range []int{0, 10, 1000, 9998, 100000} {
		b.Run(fmt.Sprintf("ahead=%d", ahead), func(b *testing.B) {
			for b.Loop() {
				e.Estimate(ahead, 20, 0, HeadOfLine{})
			}
		})
	}
}

// BenchmarkEstimatorAccuracyMMs reports the issue's accuracy figures: on a
// synthetic M/M/20 trace (5-minute calls, load 0.9, 200,000 arrivals, the
// first 10,000 left out), the root-mean-square error of the wait announced
// on arrival against the wait then realised, for vhold and for app_queue's
// holdtime, and how often vhold's P90 promise was kept. Each iteration runs
// the whole trace (same seed, same figures); run it with -benchtime 1x.
//
// Metrics: rmse-*-s over all callers; rmse-*-waited-s over callers who found
// no free agent; oracle is the formula with the true handle time, the floor
// for any position-based predictor; p90-coverage is over callers who waited
// (the others are kept trivially), p90-coverage-all over everyone.
func BenchmarkEstimatorAccuracyMMs(b *testing.B) {
	var r mmsResult
	for b.Loop() {
		r = simulateMMs(issueMMs(200000, 10000))
	}
	b.ReportMetric(r.rmseVhold, "rmse-vhold-s")
	b.ReportMetric(r.rmseAppQueue, "rmse-app_queue-s")
	b.ReportMetric(r.rmseOracle, "rmse-oracle-s")
	b.ReportMetric(r.rmseVholdWaited, "rmse-vhold-waited-s")
	b.ReportMetric(r.rmseAppQueueWaited, "rmse-app_queue-waited-s")
	b.ReportMetric(r.rmseOracleWaited, "rmse-oracle-waited-s")
	b.ReportMetric(r.coverageWaited, "p90-coverage")
	b.ReportMetric(r.coverage, "p90-coverage-all")
	b.ReportMetric(float64(r.waited)/float64(r.callers), "waited-fraction")
}
