"""theta_sim -- local HTTPS simulator of Theta EdgeCloud (see README.md)."""
