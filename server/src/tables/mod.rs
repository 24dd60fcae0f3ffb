//! Native DynamoDB-model tables (to be filled in).
