"""Stubs generated from ../proto/grpc_service.proto by `make proto`; do not edit."""
