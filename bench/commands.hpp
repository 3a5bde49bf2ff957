// The subcommands of mailwright-bench (bench/main.cpp). Each takes its own name as argv[0] and its options
// after it, prints one human-readable line and one JSON line, and returns the process's exit code.
#pragma once

namespace bench {

int pop3_main(int argc, char** argv);  // pop3_sessions.cpp
int smtp_main(int argc, char** argv);  // smtp_messages.cpp
int tls_main(int argc, char** argv);   // tls_handshakes.cpp
int idle_main(int argc, char** argv);  // idle_connections.cpp

}  // namespace bench
