# libsvidgate: core/ and cache/ with the public API of include/svidgate.h,
# as a shared library (only svidgate_* exported, SONAME libsvidgate.so.0)
# and a static one, plus svidgate.pc, and the install rules for the
# binary, the man page and the systemd unit. Included from the top-level CMakeLists.txt.

include(GNUInstallDirs)

# NOTE: cache/ is built in, but no public function uses it yet: the
# cache needs liburcu QSBR registration of every calling thread.
# The library objects are compiled again with hidden visibility, so that
# nothing but the SVIDGATE_API functions is visible outside the .so.
add_library(svidgate_lib_objects OBJECT
            ${SVIDGATE_CORE_SOURCES} ${SVIDGATE_CACHE_SOURCES}
            ${CMAKE_SOURCE_DIR}/lib/svidgate.c)
target_include_directories(svidgate_lib_objects PRIVATE ${CMAKE_SOURCE_DIR})
target_link_libraries(svidgate_lib_objects PRIVATE PkgConfig::JANSSON PkgConfig::CRYPTO
                      PkgConfig::URCU_QSBR PkgConfig::XXHASH)
target_compile_definitions(svidgate_lib_objects PRIVATE
                           SVIDGATE_VERSION_TEXT="${PROJECT_VERSION}")
set_target_properties(svidgate_lib_objects PROPERTIES
                      C_VISIBILITY_PRESET hidden POSITION_INDEPENDENT_CODE ON)

add_library(svidgate_shared SHARED $<TARGET_OBJECTS:svidgate_lib_objects>)
target_link_libraries(svidgate_shared PRIVATE PkgConfig::JANSSON PkgConfig::CRYPTO
                      PkgConfig::URCU_QSBR PkgConfig::XXHASH Threads::Threads m)
target_link_options(svidgate_shared PRIVATE
                    -Wl,--version-script=${CMAKE_SOURCE_DIR}/lib/svidgate.map
                    -Wl,--no-undefined -Wl,-z,relro,-z,now)
set_target_properties(svidgate_shared PROPERTIES
                      OUTPUT_NAME svidgate
                      VERSION ${PROJECT_VERSION}
                      SOVERSION ${PROJECT_VERSION_MAJOR}
                      LINK_DEPENDS ${CMAKE_SOURCE_DIR}/lib/svidgate.map
                      LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)

add_library(svidgate_static STATIC $<TARGET_OBJECTS:svidgate_lib_objects>)
set_target_properties(svidgate_static PROPERTIES
                      OUTPUT_NAME svidgate
                      ARCHIVE_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)

# The .pc file finds the prefix from its own location, so that
# `cmake --install --prefix DIR` yields a working file for any DIR.
string(REPLACE "/" ";" libdir_parts "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
set(SVIDGATE_PC_PREFIX "\${pcfiledir}")
foreach(part IN LISTS libdir_parts)
  string(APPEND SVIDGATE_PC_PREFIX "/..")
endforeach()
configure_file(${CMAKE_SOURCE_DIR}/lib/svidgate.pc.in ${CMAKE_BINARY_DIR}/svidgate.pc @ONLY)

install(TARGETS svidgate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS svidgate_shared svidgate_static
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_SOURCE_DIR}/include/svidgate.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_BINARY_DIR}/svidgate.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES ${CMAKE_SOURCE_DIR}/docs/svidgate.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
# systemd looks for units below the prefix's lib/, never a multiarch libdir.
install(FILES ${CMAKE_SOURCE_DIR}/docker/systemd/svidgate.service
        DESTINATION lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/examples/verify_tokens.c
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
