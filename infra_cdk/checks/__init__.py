"""Scanner settings and gates: checkov skips (with reasons) and the checkov gate run by `make checkov`."""
