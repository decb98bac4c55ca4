"""Generated protobuf and gRPC code for protos/ (scripts/gen_protos.py)."""
