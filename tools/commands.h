// The subcommands of vh5. Each takes the words after its name and returns
// the exit status: 0 on success, 1 on any error (one line on stderr).
#pragma once

#include <string>
#include <vector>

namespace vh5tool {

using Argv = std::vector<std::string>;

// Reading: inspect_commands.cc.
int RunLog(const Argv& argv);
int RunLs(const Argv& argv);
int RunCat(const Argv& argv);
int RunDiff(const Argv& argv);
int RunVerify(const Argv& argv);

// Writing: change_commands.cc.
int RunInit(const Argv& argv);
int RunDemo(const Argv& argv);
int RunSetCurrent(const Argv& argv);
int RunDelete(const Argv& argv);
int RunRename(const Argv& argv);
int RunRepack(const Argv& argv);

}  // namespace vh5tool
