//! The notifications example as an AWS Lambda function (Function URL, `RESPONSE_STREAM`): the
//! same app as `cargo run -p notifications`, on Redis. See `docs/DEPLOY.md`.

fn main() -> std::process::ExitCode {
    entry_points::lambda::main(notifications::build)
}
