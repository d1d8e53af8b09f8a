// Package archtest holds the tests that keep the code to ARCHITECTURE.md:
// a package imports only packages of lower layers, and a piece of
// knowledge unified in one place gets no second copy.
package archtest
