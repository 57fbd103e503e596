"""Traffic control: alias policies (weights, stickiness, shadow, guard), their history, comparison."""
