// Package content is revertwatch's built-in detection content for ATT&CK
// T1578.004, Revert Cloud Instance: the sequence detections that find a
// revert as it happens across several API calls, and the seed detection's
// Sumo Logic query, shipped verbatim so that it can be run locally and
// compared.
package content
