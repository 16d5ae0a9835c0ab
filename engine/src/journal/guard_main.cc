// vh5-guard: a transaction's death guard (journal/death_guard.h), spawned by
// DeathGuard::Start with what it keeps; never run by hand.
#include "journal/death_guard.h"

int main(int argc, char** argv) { return vh5::RunDeathGuard(argc, argv); }
