// Regions with MADV_DONTFORK pages.  A forked child does not inherit those
// pages, so any pointer into them would fault there; after fork() the child
// puts fresh zero pages in their place, with the same protection.
#pragma once

#include "mapping/region_state.hpp"

namespace memshare::detail {

// Registers the fork handlers now (done by the first fork_registry_add): a
// later registration of handlers that unmap regions in the child then runs
// after the registry's lock is released there.
void install_fork_registry_handlers();
void fork_registry_add(region_state& state);
void fork_registry_remove(region_state& state) noexcept;

} // namespace memshare::detail
