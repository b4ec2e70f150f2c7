#include <doctest/doctest.h>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include "config/model_config.hpp"
#include "media/image.hpp"
#include "media/discover.hpp"
#include "test_support.hpp"
using namespace zoo;
static void probe(const std::string& yaml) {
  try {
    auto c = config::parse_model_config(yaml, "m.yaml", ".");
    std::cout << "OK classes=[";
    for (auto& s : c.classes) std::cout << "'" << s << "',";
    std::cout << "] args=" << c.entrypoint_args.dump() << " dim=" << c.preprocess.image_dim << "\n";
  } catch (const zoo::Error& e) { std::cout << "zoo::Error: " << e.what() << "\n"; }
  catch (const std::exception& e) { std::cout << "OTHER EXCEPTION " << typeid(e).name() << ": " << e.what() << "\n"; }
}
TEST_CASE("probe") {
  probe("entrypoint: r\n[a, b]: 1\n");
  probe("entrypoint: r\nentrypoint_args:\n  [a, b]: 1\n");
  probe("entrypoint: r\noutput_processor_args:\n  {x: 1}: 1\n");
  probe("entrypoint: r\n~: 1\n");
  probe("entrypoint: r\nentrypoint: s\n");
  probe("entrypoint: r\nclasses: [a, b]\nlabels_string: c,d\n");
  probe("entrypoint: r\nlabels_string: c,d\nclasses: [a, b]\n");
  probe("entrypoint: r\nlabels_string: 'cat, dog,'\n");
  probe("entrypoint: r\nimage_dim: 010\n");
  probe("entrypoint: r\nentrypoint_args: {a: .inf, b: yes, c: 1e3, d: [1, x]}\n");
  probe("entrypoint: r\nclasses: [1, 2.5, null]\n");
  probe("entrypoint: r\nclasses:\n");
  probe("entrypoint: r\nweights:\n");
  probe("entrypoint:\n");
  probe("entrypoint: r\nname: [a]\n");
  probe("");
  probe("entrypoint: r\n\tx: 1\n");
  probe("entrypoint: !!binary r\n");
  probe("&a entrypoint: r\n");
  probe("entrypoint: r\n<<: {image_dim: 3}\n");
  // PNG with trailing bytes
  test::TempDir dir("probe");
  auto png = test::read_bytes("/usr/share/doc/opencv-doc/examples/data/chicky_512.png");
  png.insert(png.end(), 100, 0);
  std::cout << "png+100 truncated=" << media::read_image_header(png).truncated << "\n";
  test::write_bytes(dir / "t.png", png);
  std::cout << "png+100 load error='" << media::load_image((dir/"t.png").string(), {}, {}).error << "'\n";
  std::cout << "cv imdecode png+100 empty=" << cv::imdecode(png, cv::IMREAD_COLOR).empty() << "\n";
  // JPEG with extraneous bytes before a marker
  auto jpg = test::read_bytes("/usr/share/doc/opencv-doc/examples/data/baboon.jpg");
  auto j2 = jpg; j2.insert(j2.begin() + 20, {0, 0});
  std::cout << "first bytes: "; for (int i=0;i<24;i++) std::cout << std::hex << int(jpg[i]) << " "; std::cout << std::dec << "\n";
  std::cout << "jpeg+pad truncated=" << media::read_image_header(j2).truncated << " cv empty=" << cv::imdecode(j2, cv::IMREAD_COLOR).empty() << "\n";
  // progressive jpeg
  cv::Mat m = cv::imread("/usr/share/doc/opencv-doc/examples/data/fruits.jpg");
  std::vector<uint8_t> prog; cv::imencode(".jpg", m, prog, {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  auto h = media::read_image_header(prog);
  std::cout << "progressive " << h.width << "x" << h.height << " truncated=" << h.truncated << "\n";
  std::vector<uint8_t> rst; cv::imencode(".jpg", m, rst, {cv::IMWRITE_JPEG_RST_INTERVAL, 4});
  h = media::read_image_header(rst);
  std::cout << "restart " << h.width << "x" << h.height << " truncated=" << h.truncated << "\n";
  std::vector<uint8_t> half(prog.begin(), prog.begin() + prog.size()*3/4);
  std::cout << "progressive 3/4 truncated=" << media::read_image_header(half).truncated << "\n";
  // Walk with trailing slash
  test::write_file(dir / "r/x.jpg/in.png", "x");
  test::write_file(dir / "r/a.png", "x");
  for (auto& p : media::discover_inputs({(dir / "r").string() + "/"})) std::cout << "found " << p << "\n";
  for (auto& p : media::discover_inputs({(dir / "r/x.jpg").string() + "/"})) std::cout << "found2 " << p << "\n";
}
