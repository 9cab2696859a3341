// POSIX shared memory, memfd and /dev/shm listings.  memshare.SharedMemory
// and memshare.shm (in Python) document them.
#include "bindings.hpp"

#include <memshare/error.hpp>
#include <memshare/reaper.hpp>
#include <memshare/segments.hpp>
#include <memshare/shm.hpp>

#include <dlfcn.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>

namespace memshare::bindings {
namespace {

// memshare-reaper is installed next to this extension module.
std::string reaper_next_to_module() {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&reaper_next_to_module), &info) == 0 ||
        info.dli_fname == nullptr) {
        return {};
    }
    return (std::filesystem::path(info.dli_fname).parent_path() / "memshare-reaper")
        .string();
}

shm_name name_of(const py::bytes& name) {
    return shm_name(std::string(name));
}

Mapping map_segment(unique_fd fd, bool readonly) {
    return Mapping::from_file_descriptor(
        fd.get(), readonly ? file_mode::read : file_mode::read_write, std::nullopt, 0,
        0);
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
    set_reaper_executable(reaper_next_to_module());
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
           bool reserve, bool track) {
            const segment_options options{size.value, static_cast<mode_t>(mode.value),
                                          reserve, track};
            if (name) {
                const shm_name chosen = name_of(*name);
                return std::pair(chosen.bare(),
                                 map_segment(create_segment(chosen, options), false));
            }
            for (;;) { // a random name, until one is free
                const shm_name chosen = shm_name::random();
                try {
                    return std::pair(
                        chosen.bare(),
                        map_segment(create_segment(chosen, options), false));
                } catch (const os_error& error) {
                    if (error.code().value() != EEXIST) {
                        throw;
                    }
                }
            }
        },
        py::arg("name"), py::arg("size"), py::arg("mode"), py::arg("reserve"),
        py::arg("track"), "Create a segment; return its name and a Mapping of it.");
    m.def(
        "open_segment",
        [](const py::bytes& name, bool readonly) {
            const shm_name chosen = name_of(name);
            return std::pair(chosen.bare(),
                             map_segment(open_segment(chosen, readonly), readonly));
        },
        py::arg("name"), py::arg("readonly"),
        "Open an existing segment; return its name and a Mapping of it.");
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
}

} // namespace memshare::bindings
