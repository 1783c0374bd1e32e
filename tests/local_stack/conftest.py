"""Local-stack tier: the offline stack `make local` runs, tested on its own (it is tooling, not
the product): the Lambda runtime and API Gateway emulation, the event sources (streams, queues,
topics, schedules), S3 notifications, and the four providers' sandbox against what each real
provider does. Each test brings up only the piece it tests, on loopback ports of its own."""
