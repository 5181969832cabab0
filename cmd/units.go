package cmd

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// humanSize is docker's units.HumanSizeWithPrecision(n, 3): decimal units.
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	f, i := float64(n), 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}

// humanDuration is docker's units.HumanDuration.
func humanDuration(d time.Duration) string {
	if s := int(d.Seconds()); s < 1 {
		return "Less than a second"
	} else if s == 1 {
		return "1 second"
	} else if s < 60 {
		return fmt.Sprintf("%d seconds", s)
	} else if m := int(d.Minutes()); m == 1 {
		return "About a minute"
	} else if m < 60 {
		return fmt.Sprintf("%d minutes", m)
	} else if h := int(d.Round(time.Hour).Hours()); h == 1 {
		return "About an hour"
	} else if h < 48 {
		return fmt.Sprintf("%d hours", h)
	} else if h < 24*7*2 {
		return fmt.Sprintf("%d days", h/24)
	} else if h < 24*30*2 {
		return fmt.Sprintf("%d weeks", h/24/7)
	} else if h < 24*365*2 {
		return fmt.Sprintf("%d months", h/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// ageUnit is a count of days or weeks in a duration, which Go's
// time.ParseDuration does not take.
var ageUnit = regexp.MustCompile(`[0-9.]+[dw]`)

// parseAge reads a duration as time.ParseDuration does, with d (24h) and w
// (7d) too: "30d", "2w", "1d12h".
func parseAge(s string) (time.Duration, error) {
	var bad error
	hours := ageUnit.ReplaceAllStringFunc(s, func(m string) string {
		n, err := strconv.Atoi(m[:len(m)-1])
		if err != nil {
			bad = err
		}
		if m[len(m)-1] == 'w' {
			n *= 7
		}
		return strconv.Itoa(n*24) + "h"
	})
	d, err := time.ParseDuration(hours)
	if bad != nil || err != nil || d <= 0 {
		return 0, fmt.Errorf("want a positive duration such as 30d, 2w or 36h")
	}
	return d, nil
}
