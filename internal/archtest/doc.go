// Package archtest holds the test that keeps the code to the layers of
// ARCHITECTURE.md: a package imports only packages of lower layers.
package archtest
