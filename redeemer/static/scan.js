// Camera scanning with jsQR (vendored): the rear camera if there is one; a found code is
// put into the form and sent. Typing, pasting or a photo work without the camera.
(function () {
  "use strict";
  var section = document.getElementById("camera");
  var video = document.getElementById("video");
  var status = document.getElementById("camera-status");
  var form = document.getElementById("scan-form");
  var field = document.getElementById("credential");
  var photoBlock = document.getElementById("photo-block");
  var photo = document.getElementById("photo");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null;
  var done = false;
  var firstFrame = false;

  function say(key) { status.textContent = section.dataset[key]; }

  function decode(width, height) {
    var pixels = context.getImageData(0, 0, width, height);
    return jsQR(pixels.data, width, height, { inversionAttempts: "dontInvert" });
  }

  function found(text) {
    done = true;
    say("found");
    field.value = text;
    // requestSubmit: the submit event runs, so that offline the page checks the card itself
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  function tick() {
    if (done) return;
    if (video.readyState >= video.HAVE_CURRENT_DATA && video.videoWidth) {
      if (!firstFrame) {
        firstFrame = true;
        try { sessionStorage.setItem("yc-first-frame", String(Date.now())); } catch (e) { /* private mode */ }
      }
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var code = decode(canvas.width, canvas.height);
      if (code && code.data) { found(code.data); return; }
    }
    requestAnimationFrame(tick);
  }

  function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    section.hidden = false;
    say("starting");
    navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } }
    }).then(function (media) {
      stream = media;
      video.srcObject = media;
      return video.play();
    }).then(function () {
      say("looking");
      requestAnimationFrame(tick);
    }).catch(function () {
      say("denied");
    });
  }

  function fromPhoto() {
    var file = photo.files && photo.files[0];
    if (!file) return;
    var image = new Image();
    var url = URL.createObjectURL(file);
    image.onload = function () {
      var scale = Math.min(1, 1600 / Math.max(image.width, image.height));
      canvas.width = Math.round(image.width * scale);
      canvas.height = Math.round(image.height * scale);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      var code = decode(canvas.width, canvas.height);
      if (code && code.data) { found(code.data); } else { section.hidden = false; say("noCode"); }
    };
    image.src = url;
  }

  window.addEventListener("pagehide", function () {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
  });
  photoBlock.hidden = false;
  photo.addEventListener("change", fromPhoto);
  start();
})();
