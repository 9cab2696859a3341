// POSIX shared memory, memfd and /dev/shm listings.  memshare.SharedMemory
// and memshare.shm (in Python) document them.
#include "bindings.hpp"

#include <memshare/arrays/array_memory.hpp>
#include <memshare/arrays/courier.hpp>
#include <memshare/arrays/parked_segments.hpp>
#include <memshare/arrays/received_memory.hpp>
#include <memshare/base/error.hpp>
#include <memshare/shm/reaper.hpp>
#include <memshare/shm/segments.hpp>
#include <memshare/shm/shm.hpp>

#include <dlfcn.h>
#include <sys/mman.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

namespace memshare::bindings {
namespace {

// memshare's helper executables are installed next to this extension module.
std::string next_to_module(const char* helper) {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&next_to_module), &info) == 0 ||
        info.dli_fname == nullptr) {
        return {};
    }
    return (std::filesystem::path(info.dli_fname).parent_path() / helper).string();
}

shm_name name_of(const py::bytes& name) {
    return shm_name(std::string(name));
}

using segment_triple =
    std::tuple<std::string, Mapping, std::pair<std::uint64_t, std::uint64_t>>;

// A Mapping of a whole segment; with `keep_fd` it keeps a descriptor of its
// own (for size() and resize()), which arrays do without.
Mapping map_segment(const unique_fd& fd, bool readonly, bool keep_fd) {
    if (keep_fd) {
        return Mapping::from_file_descriptor(
            fd.get(), readonly ? file_mode::read : file_mode::read_write, std::nullopt,
            0, 0);
    }
    return Mapping::from_fd(fd.get(), 0, MAP_SHARED, PROT_READ | PROT_WRITE,
                            readonly ? access_mode::read : access_mode::default_access,
                            0, false);
}

// The name, a Mapping and the identity of a segment just opened.
segment_triple segment_of(const shm_name& name, const unique_fd& fd, bool readonly,
                          bool keep_fd) {
    const file_identity id = identity_of(fd.get());
    return {name.bare(), map_segment(fd, readonly, keep_fd),
            std::pair(id.device, id.inode)};
}

// An offer as Python holds it: the courier's address and a 16-byte token.
descriptor_offer offer_of(const py::bytes& address, const py::bytes& token, int pid,
                          int fd) {
    descriptor_offer offer{std::string(address), {}, pid, fd};
    const std::string key(token);
    if (key.size() != offer.token.size()) {
        throw py::value_error(
            "a shared array's handle is damaged: its courier token is not 16 bytes");
    }
    std::memcpy(offer.token.data(), key.data(), key.size());
    return offer;
}

void bind_file_descriptor(py::module_& m) {
    py::class_<unique_fd>(m, "FileDescriptor",
                          "A descriptor that memshare owns: closed with the object.")
        .def(py::init([](int_arg fd) { return unique_fd(fd.value); }), py::arg("fd"),
             "Take ownership of `fd`.")
        .def(
            "fileno",
            [](const unique_fd& fd) {
                if (!fd) {
                    throw py::value_error("the descriptor is closed");
                }
                return fd.get();
            },
            "The descriptor number.")
        .def(
            "close", [](unique_fd& fd) { fd.reset(); }, "Close it now.")
        .def_property_readonly(
            "closed", [](const unique_fd& fd) { return !fd; }, "Whether it is closed.")
        .def(
            "identity",
            [](const unique_fd& fd) {
                const file_identity id = identity_of(fd.get());
                return std::pair(id.device, id.inode);
            },
            "(st_dev, st_ino): equal for descriptors of the same memory.");
    m.def(
        "new_array_memory",
        [](index_arg bytes, bool zero) {
            if (bytes.value < 0) {
                throw py::value_error(
                    "an array cannot take a negative number of bytes");
            }
            Mapping mapping =
                new_array_memory(static_cast<std::size_t>(bytes.value), zero);
            const file_identity id = identity_of(mapping.fileno());
            return py::make_tuple(std::move(mapping), std::pair(id.device, id.inode));
        },
        py::arg("bytes"), py::arg("zero"),
        "Shared memory for an array of `bytes` bytes, leased by this process: "
        "(Mapping, identity).  Recycled memory of this process if some fits, "
        "zeroed if `zero`; else a new sealed memfd.");
    m.def(
        "offer_array_memory",
        [](const Mapping& mapping, std::pair<std::uint64_t, std::uint64_t> identity) {
            count_handle(mapping); // the handle holds a lease until received
            // With the GIL: the core lets go of it if it has to wait.
            const descriptor_offer offer = memshare::offer_descriptor(
                mapping.fileno(), {identity.first, identity.second});
            return py::make_tuple(
                py::bytes(offer.address),
                py::bytes(reinterpret_cast<const char*>(offer.token.data()),
                          offer.token.size()),
                offer.pid, offer.fd);
        },
        py::arg("mapping"), py::arg("identity"),
        "Offer the array memory `mapping`, of the memory `identity`, through "
        "this process's courier: (address, token, pid, fd).");
    m.def(
        "withdraw_offers",
        [](std::pair<std::uint64_t, std::uint64_t> identity) {
            // With the GIL: the core lets go of it if it has to wait.
            memshare::withdraw_offers({identity.first, identity.second});
        },
        py::arg("identity"),
        "This process let go of the memory `identity`: its courier may drop its "
        "copy once every offer of it is taken.");
    m.def(
        "receive_shared",
        [](const py::bytes& address, const py::bytes& token, int_arg pid, int_arg fd,
           std::pair<std::uint64_t, std::uint64_t> identity, index_arg length) {
            const descriptor_offer offer =
                offer_of(address, token, pid.value, fd.value);
            if (length.value <= 0) {
                throw py::value_error("a shared array's memory has a positive length");
            }
            return without_gil([&] { // may wait for the courier
                return map_offered(offer, {identity.first, identity.second},
                                   static_cast<std::size_t>(length.value));
            });
        },
        py::arg("address"), py::arg("token"), py::arg("pid"), py::arg("fd"),
        py::arg("identity"), py::arg("length"),
        "A shared Mapping of the first `length` bytes of the memory `identity`, "
        "which process `pid` offers as its `fd`: parked here already, else taken "
        "from that process while it lives, else from its courier.  The mapping "
        "keeps the descriptor, and is parked for a moment once dropped.");
    m.def(
        "add_lease", [](const Mapping& mapping) { count_handle(mapping); },
        py::arg("mapping"),
        "Take a lease on the array memory of `mapping` for a process about to be "
        "forked, which will hold it too.");
    m.def(
        "handle_returned",
        [](const Mapping& mapping, const py::bytes& address, const py::bytes& token) {
            release_lease(mapping); // this process holds one already
            const descriptor_offer offer = offer_of(address, token, 0, -1);
            without_gil([&] { memshare::release_offer(offer); }); // may connect
        },
        py::arg("mapping"), py::arg("address"), py::arg("token"),
        "A handle of the memory of `mapping` arrived, which this process has "
        "mapped already: give back the lease it carried, and tell the courier "
        "at `address` that the offer `token` will not be taken.");
    m.def(
        "kept_segments",
        [] {
            const kept_totals kept = memshare::kept_segments();
            return std::map<std::string, std::size_t>{
                {"parked", kept.parked},
                {"parked_bytes", kept.parked_bytes},
                {"recycled", kept.recycled},
                {"recycled_bytes", kept.recycled_bytes}};
        },
        "The array memory this process keeps mapped for reuse: parked (received "
        "from other processes) and recycled (made here), counts and bytes.");
    m.def(
        "release_kept_segments",
        [] { return without_gil(release_kept_segments); }, // munmap takes a while
        "Unmap every kept segment now; the bytes let go of.");
    m.def("recycling_budget", &recycling_budget,
          "The most array memory this process keeps for reuse, in bytes (from the "
          "machine's memory).");
}

std::optional<py::int_> creator_of(const segment_info& info) {
    if (!info.record) {
        return std::nullopt;
    }
    return py::int_(info.record->creator);
}

void bind_segment_info(py::module_& m) {
    py::class_<segment_info>(m, "SegmentInfo", "A segment in /dev/shm.")
        .def_readonly("name", &segment_info::name)
        .def_readonly("size", &segment_info::size)
        .def_readonly("uid", &segment_info::uid)
        .def_readonly("gid", &segment_info::gid)
        .def_readonly("mode", &segment_info::mode)
        .def_readonly("modified_ns", &segment_info::modified_ns)
        .def_readonly("mapped_by", &segment_info::mapped_by)
        .def_property_readonly(
            "memshare",
            [](const segment_info& info) { return info.record.has_value(); },
            "Whether memshare created it (and recorded so).")
        .def_property_readonly("creator", &creator_of,
                               "The creator's pid, if recorded.")
        .def_property_readonly(
            "created_ns",
            [](const segment_info& info) -> std::optional<std::int64_t> {
                return info.record ? std::optional(info.record->created_ns)
                                   : std::nullopt;
            },
            "When it was created (Unix time, ns), if recorded.")
        .def_property_readonly(
            "tracked",
            [](const segment_info& info) -> std::optional<bool> {
                return info.record ? std::optional(info.record->tracked) : std::nullopt;
            },
            "Whether it goes when its creator ends, if recorded.")
        .def_property_readonly(
            "creator_alive",
            [](const segment_info& info) -> std::optional<bool> {
                return info.record ? std::optional(info.creator_alive) : std::nullopt;
            },
            "Whether its creator still runs, if recorded.");
    m.def("list_segments", &list_segments, "Every segment in /dev/shm.");
    m.def(
        "describe_segment",
        [](const py::bytes& name) { return describe_segment(name_of(name)); },
        py::arg("name"), "One segment of /dev/shm.");
}

} // namespace

void register_shm(py::module_& m) {
    set_reaper_executable(next_to_module("memshare-reaper"));
    set_courier_executable(next_to_module("memshare-courier"));
    m.def(
        "shm_open",
        [](const py::bytes& name, int_arg flags, int_arg mode) {
            return memshare::shm_open(name_of(name), flags.value,
                                      static_cast<mode_t>(mode.value))
                .release();
        },
        py::arg("name"), py::arg("flags"), py::arg("mode"),
        "shm_open(3); the caller owns the descriptor.");
    m.def(
        "shm_unlink",
        [](const py::bytes& name) { memshare::shm_unlink(name_of(name)); },
        py::arg("name"), "shm_unlink(3).");
    m.def(
        "create_segment",
        [](const std::optional<py::bytes>& name, index_arg size, int_arg mode,
           bool reserve, bool track, bool keep_fd) {
            const segment_options options{size.value, static_cast<mode_t>(mode.value),
                                          reserve, track};
            if (name) {
                const shm_name chosen = name_of(*name);
                return segment_of(chosen, create_segment(chosen, options), false,
                                  keep_fd);
            }
            for (;;) { // a random name, until one is free
                const shm_name chosen = shm_name::random();
                try {
                    return segment_of(chosen, create_segment(chosen, options), false,
                                      keep_fd);
                } catch (const os_error& error) {
                    if (error.code().value() != EEXIST) {
                        throw;
                    }
                }
            }
        },
        py::arg("name"), py::arg("size"), py::arg("mode"), py::arg("reserve"),
        py::arg("track"), py::arg("keep_fd") = true,
        "Create a segment; return its name, a Mapping of it and its identity.");
    m.def(
        "open_segment",
        [](const py::bytes& name, bool readonly, bool keep_fd) {
            const shm_name chosen = name_of(name);
            return segment_of(chosen, open_segment(chosen, readonly), readonly,
                              keep_fd);
        },
        py::arg("name"), py::arg("readonly"), py::arg("keep_fd") = true,
        "Open an existing segment; return its name, a Mapping of it and its identity.");
    m.def(
        "reserve",
        [](int_arg fd, index_arg start, index_arg stop, const std::string& name) {
            reserve(fd.value, start.value, stop.value, name);
        },
        py::arg("fd"), py::arg("start"), py::arg("stop"), py::arg("name"),
        "Allocate the bytes [start, stop) of a file now (fallocate).");
    m.def(
        "resize_segment",
        [](int_arg fd, index_arg size, bool reserve, const std::string& name) {
            resize_segment(fd.value, size.value, reserve, name);
        },
        py::arg("fd"), py::arg("size"), py::arg("reserve"), py::arg("name"),
        "Set the size of a segment; growth is reserved if asked.");
    m.def(
        "memfd_create",
        [](const py::bytes& name, int_arg flags) {
            return memshare::memfd_create(std::string(name),
                                          static_cast<unsigned>(flags.value))
                .release();
        },
        py::arg("name"), py::arg("flags"),
        "memfd_create(2); the caller owns the descriptor.");
    m.def(
        "add_seals",
        [](int_arg fd, int_arg seals) { add_seals(fd.value, seals.value); },
        py::arg("fd"), py::arg("seals"), "fcntl(F_ADD_SEALS).");
    m.def(
        "get_seals", [](int_arg fd) { return get_seals(fd.value); }, py::arg("fd"),
        "fcntl(F_GET_SEALS).");
    bind_segment_info(m);
    bind_file_descriptor(m);
}

} // namespace memshare::bindings
