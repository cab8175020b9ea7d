// Package wfdb reads signals of a WFDB record (PhysioNet's waveform
// database format; physionet.org/physiotools/wag/header-5.htm and
// signal-5.htm): its header (.hea) and, in format 16, its signal file.
//
// Only what the project's recordings need is read: one segment, every
// signal in one file, format 16 (each sample a 16-bit little-endian two's
// complement integer, the signals interleaved frame by frame) after an
// optional byte offset (`16+24`: PhysioNet's .mat files start with a
// 24-byte prefix). Anything else (formats 212, 80, …; multi-segment
// records; signals spread over files) is refused with an error naming
// what, so that a record is never misread.
//
// A stored sample v is in ADC units; its physical value is
// (v − baseline)/gain, in the units the header names (mV, NU for a
// normalised trace such as a monitor's PLETH). With no baseline in
// parentheses after the gain, the baseline is the ADC zero (the WFDB
// convention).
//
// Everything is checked when it is read: a header with a missing or
// malformed field, a signal file whose length is not the header's
// samples of its signals after the offset. Read by cmd-line tools and
// tests on files of the project's checkout, not on input from the
// network.
package wfdb
