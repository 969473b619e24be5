# Read by ctest after the discovered selo_pdf_tests (see CMakeLists.txt).
set_tests_properties(SignedFileWriter.SignsAFileOver1GBInLittleMemory
                     PROPERTIES LABELS "pdf;slow" TIMEOUT 1200)
